//! Benchmark (not a test): median time per request of the generated function in embedded QuickJS,
//! JSON in and out — the way the local edge calls it.
//! `cargo run --release -p viewer-fn --example quickjs_bench [-- FUNCTION.js]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use viewer_fn::ViewerRequestEvent;

fn main() {
    let js = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path).expect("reading the function"),
        None => viewer_fn::generate(&viewer_fn::Spec::default()),
    };
    let qjs = common::QuickJs::new(&js);
    let accepts = [
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        "image/avif,image/webp,*/*",
        "*/*",
    ];
    let mut events = Vec::new();
    for i in 0..1000u32 {
        let path = match i % 10 {
            0..=5 => format!(
                "/photos/Further.jpg?w={}{}",
                100 + (i * 37) % 2000,
                if i % 3 == 0 { "&dpr=2" } else { "" }
            ),
            6 => "/photos/Further.jpg?w=600&h=400&fit=cover&f=auto&utm_source=newsletter".into(),
            7 => "/_sf/photos/Further.jpg/{g}/w640-h0-inside-q75.avif".into(),
            8 => "/photos/Further.jpg?w=600px&width=700".into(),
            _ => "/gallery/My%20Photo.png".into(),
        };
        let h = [(
            "accept".to_string(),
            accepts[i as usize % accepts.len()].to_string(),
        )];
        events.push(serde_json::to_string(&ViewerRequestEvent::from_http(&path, &h)).unwrap());
    }
    let mut per_request = Vec::new();
    for round in 0..60 {
        let t0 = Instant::now();
        for e in &events {
            std::hint::black_box(qjs.call(e));
        }
        if round >= 5 {
            per_request.push(t0.elapsed().as_secs_f64() * 1e6 / events.len() as f64);
        }
    }
    per_request.sort_by(f64::total_cmp);
    let at =
        |p: f64| per_request[((per_request.len() as f64 * p) as usize).min(per_request.len() - 1)];
    println!(
        "viewer-fn bench (QuickJS via rquickjs, JSON in/out): median {:.1} µs/request (p10 {:.1}, p90 {:.1}; {} batches of {})",
        at(0.5),
        at(0.1),
        at(0.9),
        per_request.len(),
        events.len()
    );
}
