//! What the caller asks for, independent of URLs (resize-lambda maps the URL API onto this).
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// How the image fits a width × height box, as sharp defines it. With only one dimension given,
/// every fit scales to that dimension and keeps the aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Keep the aspect ratio, fill the box, crop the overflow (centred).
    Cover,
    /// Keep the aspect ratio, fit inside the box, pad to the box with the background.
    Contain,
    /// Stretch to the box, ignoring the aspect ratio.
    Fill,
    /// Keep the aspect ratio, as large as possible within the box (no padding).
    #[default]
    Inside,
    /// Keep the aspect ratio, as small as possible while covering the box (no cropping).
    Outside,
}

impl Fit {
    pub const ALL: [Fit; 5] = [
        Fit::Cover,
        Fit::Contain,
        Fit::Fill,
        Fit::Inside,
        Fit::Outside,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Cover => "cover",
            Fit::Contain => "contain",
            Fit::Fill => "fill",
            Fit::Inside => "inside",
            Fit::Outside => "outside",
        }
    }
}

impl FromStr for Fit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Fit> {
        Fit::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "unknown fit {s:?}; use cover, contain, fill, inside or outside"
                ))
            })
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    /// Lossy WebP (libwebp).
    Webp,
    /// AVIF (ravif); needs the `avif` cargo feature.
    Avif,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Jpeg, Format::Png, Format::Webp, Format::Avif];
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Avif => "avif",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
        }
    }
    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Avif => "avif",
        }
    }
    /// Whether this build can write the format (AVIF is behind the `avif` feature).
    pub fn is_supported_output(self) -> bool {
        self != Format::Avif || cfg!(feature = "avif")
    }
}

impl FromStr for Format {
    type Err = Error;
    /// Accepts the names and the usual aliases (`jpg`).
    fn from_str(s: &str) -> Result<Format> {
        match s {
            "jpeg" | "jpg" => Ok(Format::Jpeg),
            "png" => Ok(Format::Png),
            "webp" => Ok(Format::Webp),
            "avif" => Ok(Format::Avif),
            _ => Err(Error::unsupported(format!(
                "unknown format {s:?}; use jpeg, png, webp or avif"
            ))),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requested output. `None` for a dimension means "not constrained"; the image is never
/// enlarged past its own size (see [`crate::geometry`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transform {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    /// 1..=100, as libjpeg/libwebp/sharp read it. Ignored by PNG.
    pub quality: u8,
    pub format: Format,
    /// Flattening colour for alpha when the output has none (JPEG), and the padding of `contain`
    /// (transparent instead when the output keeps alpha).
    pub background: [u8; 3],
}

impl Default for Transform {
    /// Unconstrained, `inside`, JPEG at quality 80 (sharp's default), white background.
    fn default() -> Self {
        Transform {
            width: None,
            height: None,
            fit: Fit::Inside,
            quality: 80,
            format: Format::Jpeg,
            background: [255; 3],
        }
    }
}

impl Transform {
    pub(crate) fn validate(&self) -> Result<()> {
        if !(1..=100).contains(&self.quality) {
            return Err(Error::unsupported(format!(
                "quality {} is out of range 1..=100",
                self.quality
            )));
        }
        if self.width == Some(0) || self.height == Some(0) {
            return Err(Error::unsupported(
                "width and height must be at least 1 (leave one out to keep the aspect ratio)",
            ));
        }
        if !self.format.is_supported_output() {
            return Err(Error::unsupported(
                "AVIF output is not in this build (cargo feature `avif`)",
            ));
        }
        Ok(())
    }
}
