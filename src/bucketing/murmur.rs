//! MurmurHash3 (x86, 32-bit, seed 0): the hash that puts a visitor in a bucket.
//!
//! Flagship buckets a visitor with `murmur3(variationGroupId + visitorId) % 100`. The two IDs are
//! fed to a streaming hasher one after the other instead of being joined into a new `String`: the
//! result is the same as hashing the concatenation, and deciding allocates nothing for it.
//!
//! The bytes hashed are the UTF-8 bytes of the IDs, as the server (`flagship-common`, Go) does. The
//! TypeScript SDK hashes the low byte of each UTF-16 code unit instead; both agree on ASCII, which
//! is what Segment IDs (UUIDs, or the site's own user IDs in practice) are made of. For a non-ASCII
//! ID we side with the server, because a local decision must match what the Decision API returns.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// Streaming MurmurHash3 x86 32-bit with seed 0.
///
/// `write(a); write(b)` hashes exactly like one `write` of `a` followed by `b`.
#[derive(Debug, Clone, Default)]
pub struct Murmur3 {
    state: u32,
    pending: [u8; 4],
    pending_len: usize,
    total_len: u32,
}

#[inline]
fn scramble(block: u32) -> u32 {
    block.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

impl Murmur3 {
    /// A hasher that has seen no bytes yet.
    pub fn new() -> Murmur3 {
        Murmur3::default()
    }

    #[inline]
    fn mix_block(&mut self, block: u32) {
        self.state ^= scramble(block);
        self.state = self
            .state
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }

    /// Feeds more bytes.
    #[inline]
    pub fn write(&mut self, mut bytes: &[u8]) {
        // The reference algorithm takes the length modulo 2^32 too.
        self.total_len = self.total_len.wrapping_add(bytes.len() as u32);
        if self.pending_len > 0 {
            let wanted = (4 - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + wanted]
                .copy_from_slice(&bytes[..wanted]);
            self.pending_len += wanted;
            bytes = &bytes[wanted..];
            if self.pending_len < 4 {
                return;
            }
            self.mix_block(u32::from_le_bytes(self.pending));
            self.pending_len = 0;
        }
        let mut blocks = bytes.chunks_exact(4);
        for block in &mut blocks {
            self.mix_block(u32::from_le_bytes([block[0], block[1], block[2], block[3]]));
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The hash of every byte written so far.
    pub fn finish(&self) -> u32 {
        let mut hash = self.state;
        if self.pending_len > 0 {
            let mut tail = [0u8; 4];
            tail[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            hash ^= scramble(u32::from_le_bytes(tail));
        }
        hash ^= self.total_len;
        hash ^= hash >> 16;
        hash = hash.wrapping_mul(0x85eb_ca6b);
        hash ^= hash >> 13;
        hash = hash.wrapping_mul(0xc2b2_ae35);
        hash ^ (hash >> 16)
    }
}

/// MurmurHash3 x86 32-bit, seed 0, of `bytes`.
pub fn murmur3_x86_32(bytes: &[u8]) -> u32 {
    let mut hasher = Murmur3::new();
    hasher.write(bytes);
    hasher.finish()
}

/// The visitor's bucket (0..=99) in a variation group: `murmur3(variationGroupId + visitorId) % 100`.
pub fn bucket(variation_group_id: &str, visitor_id: &str) -> u32 {
    let mut hasher = Murmur3::new();
    hasher.write(variation_group_id.as_bytes());
    hasher.write(visitor_id.as_bytes());
    hasher.finish() % 100
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_the_contract_hash_vectors() {
        assert_eq!(murmur3_x86_32(b"123visitor_1"), 3_635_969_351);
        assert_eq!(murmur3_x86_32(b"9273BKSDJtoto123456"), 2_207_745_127);
        assert_eq!(murmur3_x86_32(b"vgidflagship@abtast.com"), 1_551_214_225);
    }

    #[test]
    fn matches_the_contract_bucket_vectors() {
        assert_eq!(bucket("jzyplpoe6z3qx0fep", "8um"), 0);
        assert_eq!(bucket("mayaa9tovat04vvc", "jufp"), 9);
        assert_eq!(bucket("vfrgk91ebwf", "ktkzyb7z2"), 99);
    }

    #[test]
    fn matches_published_murmur3_reference_values() {
        // Widely published seed-0 values of the reference implementation (SMHasher).
        assert_eq!(murmur3_x86_32(b""), 0);
        assert_eq!(murmur3_x86_32(b"hello"), 0x248b_fa47);
        assert_eq!(murmur3_x86_32(b"Hello, world!"), 0xc036_3e43);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
    }

    #[test]
    fn bucket_hashes_the_concatenation() {
        assert_eq!(
            bucket("123", "visitor_1"),
            3_635_969_351 % 100,
            "split inside a block"
        );
        assert_eq!(bucket("vgid", "flagship@abtast.com"), 1_551_214_225 % 100);
        assert_eq!(bucket("", "9273BKSDJtoto123456"), 2_207_745_127 % 100);
    }

    #[test]
    fn non_ascii_ids_hash_their_utf8_bytes() {
        let id = "visiteur_é🙂";
        let mut joined = b"vg".to_vec();
        joined.extend_from_slice(id.as_bytes());
        assert_eq!(bucket("vg", id), murmur3_x86_32(&joined) % 100);
        // UTF-16 low bytes would give a different input, hence (almost surely) a different hash.
        let low_bytes: Vec<u8> = "vg"
            .encode_utf16()
            .chain(id.encode_utf16())
            .map(|unit| unit as u8)
            .collect();
        assert_ne!(murmur3_x86_32(&low_bytes), murmur3_x86_32(&joined));
    }

    proptest! {
        #[test]
        fn any_split_hashes_like_the_whole(data in prop::collection::vec(any::<u8>(), 0..64),
                                           cuts in prop::collection::vec(0usize..64, 0..4)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut hasher = Murmur3::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                hasher.write(&data[start..cut]);
                start = cut;
            }
            prop_assert_eq!(hasher.finish(), murmur3_x86_32(&data));
        }

        #[test]
        fn buckets_are_below_100(group in ".{0,20}", visitor in ".{0,40}") {
            prop_assert!(bucket(&group, &visitor) < 100);
        }
    }
}
