//! libwebp (C, BSD) glue shared by the encoder and the decoder.
//!
//! In wasm, libwebp's SSE2 code paths are compiled through SIMDe's SSE → simd128
//! translation (wasm/simd/clang). libwebp picks them at run time by asking its CPU-info hook,
//! `VP8GetCPUInfo`, which it leaves NULL on an architecture it does not know (wasm32 outside
//! Emscripten), so every dsp init would choose the plain C. [`use_simd`] points the hook at an
//! answer that says what the C build holds; the native build keeps libwebp's own cpuid probe.
//!
//! Still WebP originals decode through libwebp too ([`decode`]): measured against `image`'s
//! pure-Rust decoder (image-webp 0.2.4) on the same pixels — identical on every file tried —,
//! a 4096×4096 lossy photo took 236 instead of 499 ms natively, a 2560×1440 lossless one 44
//! instead of 61 ms (wasm/README.md has the wasm numbers).
use crate::decode::Decoded;
use crate::error::{Error, Result};
use crate::pixels::{Layout, Pixels};
use crate::probe::Info;
use libwebp_sys as s;

/// Sets libwebp's CPU-info hook, in wasm; call before each libwebp encode or decode. Cheap: a
/// store of the same pointer. libwebp's dsp init functions remember the hook they last ran
/// with and only run again when it changes, so the first call after this picks the SIMD paths.
#[cfg(target_arch = "wasm32")]
pub(crate) fn use_simd() {
    use core::ffi::c_int;
    type CpuInfo = unsafe extern "C" fn(feature: c_int) -> c_int;
    extern "C" {
        // src/dsp/cpu.c: `VP8CPUInfo VP8GetCPUInfo;`, a plain global function pointer.
        static mut VP8GetCPUInfo: Option<CpuInfo>;
    }
    /// `CPUFeature` in libwebp's src/dsp/cpu.h: kSSE2 = 0, kSSE3 = 1, kSlowSSSE3 = 2,
    /// kSSE4_1 = 3, then AVX, AVX2, NEON, MIPS. Yes to SSE2, and to SSE3 and SSE4.1 should
    /// wasm/simd/clang compile them (it does not now: an init only calls a path its file was
    /// compiled with, so saying yes to a missing one is harmless). No to kSlowSSSE3: it selects an alternative coefficient
    /// reader meant for Atom CPUs, which x86 hosts, and so the native build, do not use.
    unsafe extern "C" fn wasm_cpu_info(feature: c_int) -> c_int {
        c_int::from(matches!(feature, 0 | 1 | 3))
    }
    // SAFETY: wasm32 here is single-threaded; the pointer is only read by libwebp's dsp inits,
    // which run inside the libwebp calls that follow on this same thread.
    unsafe { core::ptr::addr_of_mut!(VP8GetCPUInfo).write(Some(wasm_cpu_info)) }
}

/// Natively libwebp probes the CPU itself (cpuid).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn use_simd() {}

/// A still WebP (lossy or lossless, with or without alpha) through libwebp: RGBA when the file
/// says it has alpha, RGB otherwise, and the ICC profile of a VP8X file's ICCP chunk. `None` for
/// an animation, which libwebp's still-image API refuses (the caller decodes its first frame
/// with `image`'s decoder, as before).
///
/// Called after the limits passed on `info` (the probe's VP8X/VP8/VP8L size): libwebp reads
/// the header again, it must agree, and only then is the output buffer allocated, which
/// libwebp decodes into. libwebp's own working memory is row caches for lossy files, and the
/// ARGB image (4 B/px) for lossless ones (cost.rs counts 4 B/px for either).
pub(crate) fn decode(input: &[u8], info: &Info) -> Result<Option<Decoded>> {
    use_simd();
    let mut config =
        s::WebPDecoderConfig::new().map_err(|_| Error::internal("WebPDecoderConfig init"))?;
    // SAFETY: reads the header from `input` (pointer and length of one slice) into plain data.
    let status = unsafe { s::WebPGetFeatures(input.as_ptr(), input.len(), &mut config.input) };
    check(status)?;
    let f = config.input;
    if f.has_animation != 0 {
        return Ok(None);
    }
    if (f.width as u32, f.height as u32) != (info.stored_width, info.stored_height) {
        return Err(Error::corrupt(format!(
            "the WebP's bitstream is {}×{} but its header says {}×{}",
            f.width, f.height, info.stored_width, info.stored_height
        )));
    }
    let (w, h) = (info.stored_width, info.stored_height);
    let (layout, mode) = if f.has_alpha != 0 {
        (Layout::Rgba, s::WEBP_CSP_MODE::MODE_RGBA)
    } else {
        (Layout::Rgb, s::WEBP_CSP_MODE::MODE_RGB)
    };
    let stride = w as usize * layout.channels();
    let mut data = vec![0u8; stride * h as usize];
    config.output.colorspace = mode;
    config.output.is_external_memory = 1;
    // The RGBA member of the output union is the one libwebp reads for the RGB(A) modes.
    config.output.u.RGBA = s::WebPRGBABuffer {
        rgba: data.as_mut_ptr(),
        stride: stride as i32,
        size: data.len(),
    };
    // SAFETY: libwebp reads `input` and writes at most `size` bytes, `stride` a row, into
    // `data`, which outlives the call; with external memory it allocates no output of its own
    // (WebPFreeDecBuffer then frees nothing, but is the documented pairing).
    let status = unsafe {
        let status = s::WebPDecode(input.as_ptr(), input.len(), &mut config);
        s::WebPFreeDecBuffer(&mut config.output);
        status
    };
    check(status)?;
    Ok(Some(Decoded {
        pixels: Pixels::new(w, h, layout, data),
        icc: icc(input),
    }))
}

fn check(status: s::VP8StatusCode) -> Result<()> {
    use s::VP8StatusCode as S;
    match status {
        S::VP8_STATUS_OK => Ok(()),
        S::VP8_STATUS_NOT_ENOUGH_DATA => Err(Error::corrupt("the WebP is truncated")),
        S::VP8_STATUS_BITSTREAM_ERROR => Err(Error::corrupt(
            "the WebP cannot be decoded: bitstream error",
        )),
        S::VP8_STATUS_UNSUPPORTED_FEATURE => Err(Error::unsupported("WebP feature not supported")),
        // Our limits passed, so the host is short of memory for an image it accepts: refused
        // like an image over the limits, not reported as our bug.
        S::VP8_STATUS_OUT_OF_MEMORY => Err(Error::too_large("out of memory decoding the WebP")),
        other => Err(Error::internal(format!("libwebp decoder: {other:?}"))),
    }
}

/// The ICCP chunk of an extended (VP8X) WebP; a simple file has no other chunks. A chunk that
/// runs past the end of the file is ignored (libwebp refuses such a file anyway).
pub(crate) fn icc(b: &[u8]) -> Option<Vec<u8>> {
    if b.get(12..16) != Some(b"VP8X") {
        return None;
    }
    let mut rest = b.get(12..)?;
    // Each chunk: a fourcc, a little-endian length, the data, a pad byte to an even length.
    while let (Some(kind), Some(len)) = (rest.get(..4), rest.get(4..8)) {
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let data = rest.get(8..)?;
        if kind == b"ICCP" {
            return data.get(..len).map(<[u8]>::to_vec);
        }
        rest = data.get(len.checked_add(len & 1)?..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::limits::Limits;

    fn fixture(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    fn ours(input: &[u8]) -> Result<Decoded> {
        let info = crate::probe::probe(input)?;
        crate::decode::decode(input, &info, (1, 1), &Limits::default())
    }

    fn refused(input: &[u8]) -> Error {
        ours(input).err().expect("the file was decoded")
    }

    /// `image`'s WebP decoder, the one every WebP went through before (and animations still do).
    fn theirs(input: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(input, image::ImageFormat::WebP).unwrap()
    }

    fn max_difference(a: &[u8], b: &[u8]) -> u8 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    /// A RIFF WebP of the given chunks (each padded to an even length).
    fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (kind, data) in chunks {
            body.extend_from_slice(*kind);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    /// The payload of a simple WebP's one chunk (VP8 or VP8L) after the 20-byte header.
    fn bitstream(simple: &[u8]) -> &[u8] {
        let len = u32::from_le_bytes(simple[16..20].try_into().unwrap()) as usize;
        &simple[20..20 + len]
    }

    fn le24(v: u32) -> [u8; 3] {
        let b = v.to_le_bytes();
        [b[0], b[1], b[2]]
    }

    fn vp8x(flags: u8, w: u32, h: u32) -> Vec<u8> {
        let mut d = vec![flags, 0, 0, 0];
        d.extend(le24(w - 1));
        d.extend(le24(h - 1));
        d
    }

    #[test]
    fn same_pixels_as_the_previous_decoder() {
        // The lossless fixture has VP8L's alpha hint set (its alpha is all opaque): RGBA both ways.
        for (name, layout) in [
            ("webp-lossy.webp", Layout::Rgb),
            ("webp-lossless.webp", Layout::Rgba),
            ("webp-alpha.webp", Layout::Rgba),
        ] {
            let input = fixture(name);
            let d = ours(&input).unwrap();
            assert_eq!(d.pixels.layout, layout, "{name}");
            let old = theirs(&input);
            assert_eq!(old.color().has_alpha(), layout == Layout::Rgba, "{name}");
            let diff = max_difference(&d.pixels.data, old.as_bytes());
            assert!(diff <= 1, "{name}: pixels differ by up to {diff}");
        }
    }

    /// dwebp (libwebp's own tool, an independent build) as a second reference, when installed.
    #[test]
    fn same_pixels_as_dwebp() {
        let Ok(dir) = std::env::temp_dir()
            .join("image-core-dwebp")
            .canonicalize()
            .or_else(|_| {
                let d = std::env::temp_dir().join("image-core-dwebp");
                std::fs::create_dir_all(&d).map(|_| d)
            })
        else {
            panic!("temp dir")
        };
        for name in ["webp-lossy.webp", "webp-alpha.webp", "webp-lossless.webp"] {
            let pam = dir.join(format!("{name}.pam"));
            let run = std::process::Command::new("dwebp")
                .arg(fixture_path(name))
                .arg("-pam")
                .arg("-o")
                .arg(&pam)
                .output();
            let Ok(run) = run else {
                eprintln!("dwebp is not installed: only compared with image's decoder");
                return;
            };
            assert!(run.status.success(), "dwebp {name}");
            // PAM: a text header ending in ENDHDR, then RGBA rows.
            let file = std::fs::read(&pam).unwrap();
            let at = file.windows(7).position(|w| w == b"ENDHDR\n").unwrap() + 7;
            let rgba = &file[at..];
            let d = ours(&fixture(name)).unwrap();
            let ours_rgba: Vec<u8> = match d.pixels.layout {
                Layout::Rgba => d.pixels.data.clone(),
                _ => d
                    .pixels
                    .data
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect(),
            };
            let diff = max_difference(&ours_rgba, rgba);
            assert!(diff <= 1, "{name}: differs from dwebp by up to {diff}");
        }
    }

    fn fixture_path(name: &str) -> String {
        format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn icc_profile_of_a_vp8x_file_is_handed_on() {
        let simple = fixture("webp-lossy.webp");
        let profile = b"an ICC profile, of odd length".to_vec();
        assert_eq!(profile.len() % 2, 1);
        let (w, h) = (240, 150);
        let input = riff(&[
            (b"VP8X", &vp8x(0x20, w, h)),
            (b"ICCP", &profile),
            (b"VP8 ", bitstream(&simple)),
        ]);
        let d = ours(&input).unwrap();
        assert_eq!(d.icc.as_deref(), Some(&profile[..]));
        assert_eq!(d.pixels.data, ours(&simple).unwrap().pixels.data);
        assert_eq!(ours(&simple).unwrap().icc, None);
        // As the previous decoder read it.
        let mut old = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&input)).unwrap();
        use image::ImageDecoder;
        assert_eq!(old.icc_profile().unwrap(), Some(profile));
    }

    /// An animation: still its first frame, through image's decoder, as before libwebp decoded stills.
    #[test]
    fn animation_gives_its_first_frame() {
        let (first, second) = (fixture("webp-lossy.webp"), fixture("webp-lossless.webp"));
        let (w, h) = (240, 150);
        let frame = |kind: &[u8; 4], data: &[u8]| {
            let mut f = Vec::new();
            f.extend(le24(0));
            f.extend(le24(0));
            f.extend(le24(w - 1));
            f.extend(le24(h - 1));
            f.extend(le24(100));
            f.push(0b10); // no blending: the frame replaces the canvas
            f.extend(riff(&[(kind, data)])[12..].iter().copied());
            f
        };
        let input = riff(&[
            (b"VP8X", &vp8x(0x02, w, h)),
            (b"ANIM", &[0, 0, 0, 0, 0, 0]),
            (b"ANMF", &frame(b"VP8 ", bitstream(&first))),
            (b"ANMF", &frame(b"VP8L", bitstream(&second))),
        ]);
        let info = crate::probe::probe(&input).unwrap();
        assert!(
            decode(&input, &info).unwrap().is_none(),
            "libwebp's still API got an animation"
        );
        let d = ours(&input).unwrap();
        assert_eq!(d.pixels.data, theirs(&input).as_bytes());
        assert_eq!(d.pixels.layout, Layout::Rgb);
        let still = ours(&first).unwrap().pixels.data;
        let diff = max_difference(&d.pixels.data, &still);
        assert!(diff <= 1, "not the first frame: differs by up to {diff}");
    }

    #[test]
    fn broken_files_are_corrupt() {
        let input = fixture("webp-lossy.webp");
        // Cut in the middle of the bitstream: refused, not decoded as half an image.
        let cut = &input[..input.len() * 2 / 3];
        assert_eq!(refused(cut).kind, ErrorKind::Corrupt);
        let alpha = fixture("webp-alpha.webp");
        assert_eq!(
            refused(&alpha[..alpha.len() - 500]).kind,
            ErrorKind::Corrupt
        );
        // The bitstream scrambled after its frame header.
        let mut garbage = input.clone();
        for b in &mut garbage[40..] {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        assert_eq!(refused(&garbage).kind, ErrorKind::Corrupt);
        // A VP8X canvas that is not the bitstream's size (the limits were checked on the canvas).
        let lying = riff(&[(b"VP8X", &vp8x(0, 120, 75)), (b"VP8 ", bitstream(&input))]);
        let e = refused(&lying);
        assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
    }
}
