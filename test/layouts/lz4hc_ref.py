"""LZ4_compress_HC_destSize of the system's liblz4 (ctypes), for the encoder's tests.

Usage: lz4hc_ref.py FILE CAPACITY LEVEL -> stdout: 4-byte LE consumed count, then the block.
With --version: prints LZ4_versionNumber().
"""
import ctypes
import struct
import sys

lib = ctypes.CDLL('liblz4.so.1')
if sys.argv[1] == '--version':
    print(lib.LZ4_versionNumber())
    sys.exit(0)
data = open(sys.argv[1], 'rb').read()
capacity, level = int(sys.argv[2]), int(sys.argv[3])
lib.LZ4_createStreamHC.restype = ctypes.c_void_p
state = lib.LZ4_createStreamHC()
src = ctypes.create_string_buffer(data, len(data))
dst = ctypes.create_string_buffer(capacity)
size = ctypes.c_int(len(data))
n = lib.LZ4_compress_HC_destSize(ctypes.c_void_p(state), src, dst, ctypes.byref(size), capacity, level)
sys.stdout.buffer.write(struct.pack('<I', size.value) + dst.raw[:n])
