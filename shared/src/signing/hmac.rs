//! HMAC-SHA256 (RFC 2104) with the key's padded blocks hashed once, up front.
//!
//! A webhook secret signs every delivery to its endpoint, so the two SHA-256 blocks that depend
//! only on the key (`K ^ ipad`, `K ^ opad`) are compressed once per key rather than once per
//! signature: for a 2 KiB body that is ~6 % less hashing. The `hmac` crate can keep such a state
//! too, but not wipe it on drop; here the two midstates live in `Zeroizing` memory like the key
//! itself. The compression function is `sha2`'s (SHA-NI where the CPU has it).

use sha2::digest::block_buffer::{BlockBuffer, Eager};
use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::U64;
use zeroize::Zeroizing;

const BLOCK: usize = 64;
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A key ready to MAC with: the SHA-256 midstates after `K ^ ipad` and `K ^ opad`.
#[derive(Clone)]
pub struct HmacSha256Key {
    inner: Zeroizing<[u32; 8]>,
    outer: Zeroizing<[u32; 8]>,
}

fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

impl HmacSha256Key {
    /// Prepares `key` (any length; keys longer than a block are hashed first, per RFC 2104).
    pub fn new(key: &[u8]) -> Self {
        let mut padded = Zeroizing::new([0u8; BLOCK]);
        if key.len() > BLOCK {
            use sha2::Digest;
            padded[..32].copy_from_slice(&sha2::Sha256::digest(key));
        } else {
            padded[..key.len()].copy_from_slice(key);
        }
        let midstate = |pad: u8| {
            let mut block = Zeroizing::new([0u8; BLOCK]);
            for (b, k) in block.iter_mut().zip(padded.iter()) {
                *b = k ^ pad;
            }
            let mut state = Zeroizing::new(IV);
            compress(&mut state, block.as_slice());
            state
        };
        Self {
            inner: midstate(0x36),
            outer: midstate(0x5c),
        }
    }

    /// The MAC of the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = Hasher::resume(&self.inner);
        for part in parts {
            inner.update(part);
        }
        let inner_digest = inner.finish();
        let mut outer = Hasher::resume(&self.outer);
        outer.update(&inner_digest);
        outer.finish()
    }
}

/// SHA-256 resumed from a midstate that has already absorbed one block. Full blocks go to the
/// compression function in runs (one SHA-NI setup per run, not per block); `block_buffer` does
/// the buffering and the length padding, as inside `sha2` itself.
struct Hasher {
    state: Zeroizing<[u32; 8]>,
    buffer: BlockBuffer<U64, Eager>,
    /// Bytes absorbed, the key block included.
    length: u64,
}

impl Hasher {
    fn resume(midstate: &[u32; 8]) -> Self {
        Self {
            state: Zeroizing::new(*midstate),
            buffer: BlockBuffer::default(),
            length: BLOCK as u64,
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.length += data.len() as u64;
        let state = &mut self.state;
        self.buffer
            .digest_blocks(data, |blocks| sha2::compress256(state, blocks));
    }

    fn finish(mut self) -> [u8; 32] {
        let state = &mut self.state;
        self.buffer
            .len64_padding_be(self.length.wrapping_mul(8), |block| {
                sha2::compress256(state, std::slice::from_ref(block));
            });
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;

    fn reference(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a 131-byte key, hashed first).
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex::encode(HmacSha256Key::new(key).mac(&[data])), expected);
        }
    }

    #[test]
    fn agrees_with_the_hmac_crate_at_every_length_and_split() {
        // Lengths around the padding edges (55, 56, 63, 64 bytes) and split points inside and
        // across blocks, with keys shorter than, equal to and longer than a block.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0, 24, 32, 64, 65] {
            let key = vec![0x42u8; key_len];
            let prepared = HmacSha256Key::new(&key);
            for len in (0..200).chain([255, 256, 257, 300]) {
                let message = &data[..len];
                let expected = reference(&key, message);
                assert_eq!(
                    prepared.mac(&[message]),
                    expected,
                    "key {key_len}, len {len}"
                );
                for split in [1, 10, 55, 64, 100] {
                    if split < len {
                        let (a, b) = message.split_at(split);
                        assert_eq!(prepared.mac(&[a, b]), expected, "split {split}");
                    }
                }
            }
        }
    }
}
