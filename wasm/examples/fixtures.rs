//! Writes the fixture corpus (run through `cargo xtask fixtures`).
//!
//! fixtures DIR                   derive every fixture from DIR/seed.png
//! fixtures --reseed PHOTO DIR    first remake DIR/seed.png: PHOTO downscaled (float Lanczos3,
//!                                linear light) to 240 px wide
#[path = "../tests/common/derive.rs"]
mod derive;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (photo, dir) = match args.as_slice() {
        [flag, photo, dir] if flag == "--reseed" => (Some(photo.clone()), dir.clone()),
        [dir] => (None, dir.clone()),
        _ => {
            eprintln!("usage: fixtures [--reseed PHOTO] DIR");
            std::process::exit(2);
        }
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("fixture dir");
    if let Some(photo) = photo {
        let bytes = std::fs::read(&photo).unwrap_or_else(|e| panic!("{photo}: {e}"));
        let limits = image_core::Limits {
            max_input_bytes: usize::MAX,
            ..Default::default()
        };
        let full = image_core::quality::decode_rgb(&bytes, &limits).expect("decode photo");
        let h = (240 * full.height + full.width / 2) / full.width;
        let small = image_core::quality::reference_resize(&full, 240, h);
        let mut png = Vec::new();
        let mut e = png::Encoder::new(&mut png, small.width, small.height);
        e.set_color(png::ColorType::Rgb);
        let mut w = e.write_header().unwrap();
        w.write_image_data(&small.data).unwrap();
        w.finish().unwrap();
        std::fs::write(dir.join("seed.png"), png).expect("write seed.png");
    }
    let seed = std::fs::read(dir.join("seed.png")).expect("seed.png (make it with --reseed PHOTO)");
    for (name, bytes) in derive::all(&seed) {
        std::fs::write(dir.join(&name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        println!("{name}");
    }
}
