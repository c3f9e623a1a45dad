//! The hostile corpus, generated here (not committed binaries): scan bombs, chunk bombs, GIF frames
//! larger than their screen or than `max_pixels`, 65535-pixel headers in every format, truncated
//! and empty files. Each is refused with its own error kind before the work it would cost, and
//! nothing panics. `hostile::corpus()` is shared with the benchmark (benches/hostile.rs) that
//! reports each case's time to refusal and peak memory.
#[path = "common/hostile.rs"]
mod hostile;

use image_core::{process, ErrorKind, Format, Limits, Transform};

#[test]
fn every_hostile_file_is_refused_with_its_own_kind_quickly() {
    let limits = Limits::default();
    let t = Transform {
        width: Some(256),
        format: Format::Jpeg,
        ..Transform::default()
    };
    for case in hostile::corpus() {
        let start = std::time::Instant::now();
        let e = match process(&case.bytes, &t, &limits) {
            Ok(out) => panic!("{}: made a {}×{} image", case.name, out.width, out.height),
            Err(e) => e,
        };
        let took = start.elapsed();
        assert_eq!(e.kind, case.kind, "{}: {e}", case.name);
        assert!(
            e.message.contains(case.says),
            "{}: {:?} does not say {:?}",
            case.name,
            e.message,
            case.says
        );
        // Refused before decoding: a debug build takes milliseconds (the bombs would take minutes).
        assert!(took.as_secs_f64() < 1.0, "{} took {took:?}", case.name);
    }
}

#[test]
fn a_transform_without_a_size_is_capped_and_a_sized_one_over_the_cap_refused() {
    let limits = Limits {
        max_output_pixels: 10_000,
        ..Limits::default()
    };
    let png = hostile::png(200, 100, &[]);
    let free = Transform {
        format: Format::Png,
        ..Transform::default()
    };
    let out = process(&png, &free, &limits).unwrap();
    assert!(u64::from(out.width) * u64::from(out.height) <= 10_000);
    assert_eq!((out.width, out.height), (140, 70)); // 141 × 71 rounds over it
    let sized = Transform {
        width: Some(150),
        ..free.clone()
    };
    let e = process(&png, &sized, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(e.message.contains("the output would be 150×75"), "{e}");
    // Within the cap, nothing changes.
    let small = Transform {
        width: Some(100),
        ..free
    };
    assert_eq!(process(&png, &small, &limits).unwrap().width, 100);
}

#[test]
fn benign_metadata_and_scans_pass() {
    // A real ICC profile's worth of compressed metadata and a progressive JPEG's scans are fine.
    let limits = Limits::default();
    let png = hostile::png(
        64,
        64,
        &[hostile::chunk(b"zTXt", &hostile::ztxt(&[b'a'; 100_000]))],
    );
    let t = Transform {
        width: Some(32),
        format: Format::Png,
        ..Transform::default()
    };
    assert_eq!(process(&png, &t, &limits).unwrap().width, 32);
    let progressive = hostile::progressive_jpeg();
    assert!(process(&progressive, &t, &limits).is_ok());
}
