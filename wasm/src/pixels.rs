//! The one in-memory image type the steps hand to each other: 8 bits per sample, packed rows.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Gray,
    Rgb,
    Rgba,
    /// JPEG's YCbCr as decoded, before the colour transform: only until the resize step, which
    /// converts it while reading (see resize.rs).
    YCbCr,
    /// Ink amounts (0 = no ink), as ICC CMYK profiles expect; only until the colour step.
    Cmyk,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::Rgb | Layout::YCbCr => 3,
            Layout::Rgba | Layout::Cmyk => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub data: Vec<u8>,
}

impl Pixels {
    pub fn new(width: u32, height: u32, layout: Layout, data: Vec<u8>) -> Pixels {
        debug_assert_eq!(
            data.len(),
            width as usize * height as usize * layout.channels()
        );
        Pixels {
            width,
            height,
            layout,
            data,
        }
    }

    /// True when there is an alpha channel and some pixel is not fully opaque.
    pub fn has_transparency(&self) -> bool {
        // AND of the alpha bytes, a block at a time: branch-free inside a block, so it vectorises
        // (an opaque 15 MP RGBA PNG is scanned whole: 60 MB).
        self.layout == Layout::Rgba
            && self.data.chunks(4096).any(|block| {
                block.chunks_exact(4).fold(u32::MAX, |m, p| {
                    m & u32::from_le_bytes([p[0], p[1], p[2], p[3]])
                }) >> 24
                    != 255
            })
    }
}
