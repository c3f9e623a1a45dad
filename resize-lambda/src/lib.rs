//! The origin-side flow shared by Lambda@Edge (wasm) and the regional Lambda (native).
