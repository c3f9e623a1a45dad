//! EXIF orientation (tag 0x0112 in IFD0 of the TIFF structure), read without allocating.
//! Anything malformed reads as 1 ("as stored"): a bad tag must not make a photo unservable.

/// Orientation 1..=8 from a TIFF block (`II*\0` or `MM\0*`).
pub fn orientation(tiff: &[u8]) -> u8 {
    read(tiff).filter(|o| (1..=8).contains(o)).unwrap_or(1)
}

/// Orientations 5..=8 transpose the image: the displayed width is the stored height.
pub fn swaps_axes(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

fn read(t: &[u8]) -> Option<u8> {
    let le = match t.get(0..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = t.get(at..at + 2)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = t.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    (0..count).find_map(|i| {
        let e = ifd + 2 + i * 12;
        // Tag 0x0112, type SHORT (3), count 1: the value sits in the first 2 bytes of the field.
        (u16_at(e)? == 0x0112 && u16_at(e + 2)? == 3).then(|| u16_at(e + 8).map(|v| v as u8))?
    })
}

/// A minimal little-endian TIFF block holding only the orientation tag (for fixtures and tests).
pub fn tiff_with_orientation(orientation: u8) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x0112u16.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&u32::from(orientation).to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_orientation_and_rejects_junk() {
        for o in 1..=8 {
            assert_eq!(orientation(&tiff_with_orientation(o)), o);
        }
        assert_eq!(orientation(&tiff_with_orientation(9)), 1);
        assert_eq!(orientation(&tiff_with_orientation(0)), 1);
        assert_eq!(orientation(b"II*\0\xff\xff\xff\xff"), 1);
        assert_eq!(orientation(b""), 1);
        let t = tiff_with_orientation(6);
        for cut in 0..t.len() {
            assert!(matches!(orientation(&t[..cut]), 1 | 6));
        }
    }

    #[test]
    fn big_endian() {
        let mut t = b"MM\0*".to_vec();
        t.extend_from_slice(&8u32.to_be_bytes());
        t.extend_from_slice(&1u16.to_be_bytes());
        t.extend_from_slice(&0x0112u16.to_be_bytes());
        t.extend_from_slice(&3u16.to_be_bytes());
        t.extend_from_slice(&1u32.to_be_bytes());
        t.extend_from_slice(&[0, 8, 0, 0]);
        assert_eq!(orientation(&t), 8);
    }
}
