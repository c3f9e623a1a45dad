//! One error type for the whole pipeline. Each kind maps to the HTTP status the origin side answers
//! with (the origin's error table, `resize_lambda::response::Failure`, calls [`ErrorKind::status`]);
//! the message is meant for the person who uploaded the photo, so it says what was wrong with it.
//!
//! The statuses are chosen so CloudFront caches them: it keeps 400 and 415 for the response's
//! `max-age`, but never caches 413 or 422, so an origin answering those would fetch and probe the
//! same broken original on every request (CloudFront Developer Guide, "How CloudFront processes
//! HTTP 4xx and 5xx status codes from your origin"). Kinds stay distinct in the message and logs.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not an image format we read, or an output we cannot write (415).
    Unsupported,
    /// The bytes claim to be an image but are truncated or malformed (415: the original cannot be
    /// read as the image it claims to be).
    Corrupt,
    /// Over one of the [`crate::Limits`] (400: this original cannot be made into this variant).
    TooLarge,
    /// A bug or an encoder failure; not the input's fault (500).
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Unsupported,
        ErrorKind::Corrupt,
        ErrorKind::TooLarge,
        ErrorKind::Internal,
    ];

    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Unsupported | ErrorKind::Corrupt => 415,
            ErrorKind::TooLarge => 400,
            ErrorKind::Internal => 500,
        }
    }

    /// Lowercase name; the wasm API starts every error message with it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// The HTTP status the origin side answers with.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

/// `"<kind>: <message>"`, the shape the wasm API throws and the CLI prints.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
