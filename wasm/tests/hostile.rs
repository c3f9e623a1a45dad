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

fn at(width: Option<u32>, format: Format, quality: u8) -> Transform {
    Transform {
        width,
        format,
        quality,
        ..Transform::default()
    }
}

#[test]
fn an_unsized_avif_is_scaled_to_max_avif_pixels_and_a_sized_one_over_it_refused() {
    // A 50 MP photo (8660 × 5773, baseline 4:2:0): only its header is read before the answer.
    let photo = hostile::jpeg_frame(0xC0, 8660, 5773, &[0x22, 0x11, 0x11]);
    let limits = Limits::default();
    let c = image_core::check(&photo, &at(None, Format::Avif, 75), &limits).unwrap();
    let (w, h) = c.plan.output;
    let pixels = u64::from(w) * u64::from(h);
    assert!(pixels <= limits.max_avif_pixels, "{w}×{h}");
    assert!(
        pixels as f64 > 0.99 * limits.max_avif_pixels as f64,
        "{w}×{h}"
    );
    // The cap is chosen so this, the largest unsized AVIF, fits the time budget at the spec's
    // default quality, from a progressive original of ten scans too.
    assert!(c.cost.work_ms <= limits.max_work_ms, "{:?}", c.cost);
    let mut progressive = hostile::jpeg_frame(0xC2, 8660, 5773, &[0x22, 0x11, 0x11]);
    let eoi = progressive.len() - 2;
    let sos = [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00];
    progressive.splice(eoi..eoi, sos.repeat(10));
    let c = image_core::check(&progressive, &at(None, Format::Avif, 75), &limits).unwrap();
    assert!(c.cost.work_ms <= limits.max_work_ms, "{:?}", c.cost);
    // Other formats keep the general cap.
    let webp = image_core::check(&photo, &at(None, Format::Webp, 75), &limits).unwrap();
    let (ww, wh) = webp.plan.output;
    assert!(u64::from(ww) * u64::from(wh) > 8 * pixels);
    // A width alone over the AVIF cap (the height follows the photo) is scaled down like an
    // unsized one; 2048 × 1365 is within it as asked.
    let c = image_core::check(&photo, &at(Some(2560), Format::Avif, 75), &limits).unwrap();
    let (w, h) = c.plan.output;
    assert!(
        u64::from(w) * u64::from(h) <= limits.max_avif_pixels && w < 2560,
        "{w}×{h}"
    );
    let c = image_core::check(&photo, &at(Some(2048), Format::Avif, 75), &limits).unwrap();
    assert_eq!(c.plan.output.0, 2048);
    // A box over it is refused, naming the limit.
    let boxed = Transform {
        height: Some(2000),
        fit: image_core::Fit::Cover,
        ..at(Some(2560), Format::Avif, 75)
    };
    let e = image_core::check(&photo, &boxed, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(
        e.message
            .contains("the limit for AVIF output is 3.1 megapixels"),
        "{e}"
    );

    // Through the whole pipeline, on a real image and a small cap.
    let small = Limits {
        max_avif_pixels: 10_000,
        ..Limits::default()
    };
    let png = hostile::png(200, 100, &[]);
    let out = process(&png, &at(None, Format::Avif, 60), &small).unwrap();
    assert_eq!((out.width, out.height), (140, 70));
    let out = process(&png, &at(Some(150), Format::Avif, 60), &small).unwrap();
    assert_eq!(
        (out.width, out.height),
        (140, 70),
        "a width alone: scaled like no size"
    );
    let boxed = Transform {
        height: Some(75),
        fit: image_core::Fit::Fill,
        ..at(Some(150), Format::Avif, 60)
    };
    let e = process(&png, &boxed, &small).unwrap_err();
    assert!(e.message.contains("for AVIF output"), "{e}");
    assert_eq!(
        process(&png, &at(Some(150), Format::Png, 60), &small)
            .unwrap()
            .width,
        150
    );
}

#[test]
fn a_progressive_jpegs_coefficients_count_against_the_memory_budget() {
    // 7000 × 7000, 4:4:4: a progressive decode keeps 294 MB of coefficients besides the
    // planes and the image; the same frame as baseline streams them.
    let sampling = [0x11, 0x11, 0x11];
    let progressive = hostile::jpeg_frame(0xC2, 7000, 7000, &sampling);
    let baseline = hostile::jpeg_frame(0xC0, 7000, 7000, &sampling);
    let limits = Limits::default();
    let full = at(None, Format::Jpeg, 80);
    assert!(image_core::check(&baseline, &full, &limits).is_ok());
    let e = image_core::check(&progressive, &full, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(e.message.contains("memory limit is 512 MiB"), "{e}");
    assert!(e.message.contains("(decode step, estimated)"), "{e}");
    // A thumbnail decodes at 1/8, but the coefficients are all kept: 875 × 875 blocks × 3
    // components × 64 × 2 bytes more than the baseline frame takes. Still within the budget.
    let thumb = at(Some(256), Format::Jpeg, 80);
    let b = image_core::check(&baseline, &thumb, &limits).unwrap();
    let p = image_core::check(&progressive, &thumb, &limits).unwrap();
    assert_eq!(
        p.cost.memory_bytes - b.cost.memory_bytes,
        875 * 875 * 3 * 128
    );
}

#[test]
fn memory_and_time_are_refused_just_over_their_budget_and_pass_at_it() {
    let cases = [
        (hostile::progressive_jpeg(), at(Some(120), Format::Webp, 80)),
        (hostile::png(300, 200, &[]), at(None, Format::Avif, 50)),
    ];
    let generous = Limits {
        max_memory_bytes: u64::MAX,
        max_work_ms: u64::MAX,
        ..Limits::default()
    };
    for (input, t) in cases {
        let cost = image_core::check(&input, &t, &generous).unwrap().cost;
        let memory = |max_memory_bytes| Limits {
            max_memory_bytes,
            ..generous
        };
        let time = |max_work_ms| Limits {
            max_work_ms,
            ..generous
        };
        assert!(process(&input, &t, &memory(cost.memory_bytes)).is_ok());
        assert!(process(&input, &t, &time(cost.work_ms)).is_ok());
        let e = process(&input, &t, &memory(cost.memory_bytes - 1)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
        assert!(e.message.contains("memory limit"), "{e}");
        let e = process(&input, &t, &time(cost.work_ms - 1)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
        assert!(e.message.contains("the time limit is"), "{e}");
    }
}

#[test]
fn the_time_budget_refuses_up_front_what_would_run_past_it() {
    let limits = Limits::default();
    let photo = hostile::jpeg_frame(0xC0, 8660, 5773, &[0x22, 0x11, 0x11]);
    // q100 AVIF (2.2× q75's work) at the AVIF cap, from 50 MP: about 13 s, within the default
    // budget; a host with a third of it refuses the same request from the header alone.
    let unsized_q100 = at(None, Format::Avif, 100);
    let fits = image_core::check(&photo, &unsized_q100, &limits).unwrap();
    assert!(
        (8_000..22_000).contains(&fits.cost.work_ms),
        "{:?}",
        fits.cost
    );
    let tight = Limits {
        max_work_ms: 7_000,
        ..limits
    };
    let start = std::time::Instant::now();
    let e = image_core::check(&photo, &unsized_q100, &tight).unwrap_err();
    assert!(start.elapsed().as_millis() < 100);
    assert_eq!((e.kind, e.status()), (ErrorKind::TooLarge, 400), "{e}");
    assert!(
        e.message
            .contains("s of work (estimated); the time limit is 7.0 s a request"),
        "{e}"
    );
    // 64 scans (the most a JPEG may have) over 50 MP, then a 2048 w AVIF: each scan is a pass
    // over every coefficient, seconds more than the baseline photo. A budget between the two
    // refuses the progressive one and lets the baseline one through.
    let mut progressive = hostile::jpeg_frame(0xC2, 8660, 5773, &[0x22, 0x11, 0x11]);
    let eoi = progressive.len() - 2;
    let sos = [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00];
    progressive.splice(eoi..eoi, sos.repeat(64));
    let t = at(Some(2048), Format::Avif, 75);
    let work = |input: &[u8]| image_core::check(input, &t, &limits).unwrap().cost.work_ms;
    let (baseline, scans) = (work(&photo), work(&progressive));
    assert!(scans > baseline + 5_000, "{scans} vs {baseline}");
    let between = Limits {
        max_work_ms: (baseline + scans) / 2,
        ..limits
    };
    let e = image_core::check(&progressive, &t, &between).unwrap_err();
    assert!(e.message.contains("time limit"), "{e}");
    assert!(image_core::check(&photo, &t, &between).is_ok());
}
