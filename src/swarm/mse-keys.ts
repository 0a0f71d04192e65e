/**
 * Diffie-Hellman keys for MSE/PE handshakes (BitTorrent message stream
 * encryption: the 768-bit prime P below, generator 2, private keys of 160
 * bits), made cheaply.
 *
 * bittorrent-protocol makes a `crypto.createDiffieHellman(P, 2)` per
 * handshake, and Node checks the prime each time (OpenSSL's DH_check, a
 * primality test): ~75 ms of CPU per encrypted connection on this machine,
 * a tenth of a long seeding session's profile. Here one DiffieHellman object
 * holds the checked prime, and each handshake's key pair is its own private
 * key set into it just before each synchronous use (~0.2 ms per handshake).
 * `SafeWire` gives one to the library's encryptor (its `_dh`).
 */
import { createDiffieHellman, randomBytes, type DiffieHellman } from 'node:crypto';

/** P of the MSE/PE spec (hex). */
export const MSE_PRIME = 'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563';
const MSE_GENERATOR = 2;
/** Private key size (the spec: Xa and Xb of 160 bits). */
const PRIVATE_KEY_BYTES = 20;

/** What bittorrent-protocol's encryptor asks of its DH object. */
export interface MseKeyPair {
  /** Our public key (g^x mod P). */
  generateKeys(): Buffer;
  /** The shared secret with the peer's public key, zero-padded to 96 bytes. */
  computeSecret(peerPublic: Uint8Array): Buffer;
}

let group: DiffieHellman | undefined;

/**
 * The group, made (and its prime checked, ~20 ms of CPU) at the first
 * handshake that uses it: every accepted connection gets a key pair in case
 * the peer speaks MSE/PE, and a process whose peers all speak plaintext
 * (the clients of one `isosync serve`) never needs it.
 */
function mseGroup(): DiffieHellman {
  return (group ??= createDiffieHellman(MSE_PRIME, 'hex', MSE_GENERATOR));
}

/** A fresh key pair of the MSE/PE group. */
export function mseKeyPair(): MseKeyPair {
  const privateKey = randomBytes(PRIVATE_KEY_BYTES);
  return {
    generateKeys: () => {
      const dh = mseGroup();
      dh.setPrivateKey(privateKey);
      return dh.generateKeys();
    },
    computeSecret: (peerPublic) => {
      const dh = mseGroup();
      dh.setPrivateKey(privateKey);
      return dh.computeSecret(peerPublic);
    },
  };
}

/** Whether the group was made (a test's look: plaintext links leave it unmade). */
export function mseGroupMade(): boolean {
  return group !== undefined;
}
