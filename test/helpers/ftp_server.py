"""A small real FTP server for tests (pyftpdlib): anonymous, read-only,
on 127.0.0.1, serving one folder. Prints "PORT <n>" when it listens. Reads
commands on stdin, one per line:
  bytes     prints "BYTES <n>": file bytes sent on data connections so far
  quit      stops
Bytes are counted as the data connections send them, so a transfer ended
early counts only what left the server.
Usage: /usr/bin/python3 ftp_server.py DIR
"""
import sys
import threading

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

sent = [0]
lock = threading.Lock()


class CountingDTP(DTPHandler):
    def send(self, data):
        n = super().send(data)
        if n:
            with lock:
                sent[0] += n
        return n


def main():
    folder = sys.argv[1]
    auth = DummyAuthorizer()
    auth.add_anonymous(folder, perm="elr")
    handler = FTPHandler
    handler.authorizer = auth
    handler.dtp_handler = CountingDTP
    handler.passive_ports = None
    handler.use_sendfile = False  # count what send() sends
    handler.banner = "isosync test ftp"
    server = FTPServer(("127.0.0.1", 0), handler)
    server.max_cons = 64
    print("PORT %d" % server.address[1], flush=True)

    def commands():
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "bytes":
                with lock:
                    print("BYTES %d" % sent[0], flush=True)
            elif cmd == "quit":
                break
        server.close_all()

    threading.Thread(target=commands, daemon=True).start()
    server.serve_forever(timeout=0.2, blocking=True, handle_exit=True)


if __name__ == "__main__":
    main()
