//! LEB128 varints and zigzag encoding for the record section of a batch frame.
//!
//! Lengths and timestamp deltas are small most of the time, so one or two bytes usually replace eight. Decoding
//! works on untrusted bytes: it never reads past the slice and rejects encodings longer than ten bytes.

/// Appends `value` as an unsigned LEB128 varint.
#[inline]
pub(super) fn put_u64(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Appends `value` zigzag-encoded, so small negative numbers stay short too.
#[inline]
pub(super) fn put_i64(buf: &mut Vec<u8>, value: i64) {
    put_u64(buf, ((value << 1) ^ (value >> 63)) as u64);
}

/// Reads an unsigned varint at `*pos`, advancing `pos`. `None` when the bytes end early or the encoding is too long.
#[inline]
pub(super) fn get_u64(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        // The tenth byte may only carry the top bit of a u64.
        if shift == 63 && byte > 1 {
            return None;
        }
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// Reads a zigzag-encoded signed varint at `*pos`.
#[inline]
pub(super) fn get_i64(bytes: &[u8], pos: &mut usize) -> Option<i64> {
    let raw = get_u64(bytes, pos)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_round_trip_and_sizes() {
        for (value, len) in [(0u64, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (u64::MAX, 10)] {
            let mut buf = Vec::new();
            put_u64(&mut buf, value);
            assert_eq!(buf.len(), len, "{value}");
            let mut pos = 0;
            assert_eq!(get_u64(&buf, &mut pos), Some(value));
            assert_eq!(pos, len);
        }
    }

    #[test]
    fn signed_round_trip() {
        for value in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1_700_000_000_000] {
            let mut buf = Vec::new();
            put_i64(&mut buf, value);
            let mut pos = 0;
            assert_eq!(get_i64(&buf, &mut pos), Some(value));
        }
        let mut buf = Vec::new();
        put_i64(&mut buf, -1);
        assert_eq!(buf, [1]);
    }

    #[test]
    fn rejects_truncated_and_overlong() {
        let mut pos = 0;
        assert_eq!(get_u64(&[0x80, 0x80], &mut pos), None);
        let mut pos = 0;
        assert_eq!(get_u64(&[], &mut pos), None);
        let mut pos = 0;
        assert_eq!(get_u64(&[0xff; 11], &mut pos), None);
        let mut pos = 0;
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(get_u64(&too_big, &mut pos), None);
    }
}
