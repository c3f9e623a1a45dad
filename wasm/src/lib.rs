//! The image core: limits → decode → orient → resize → colour → encode.
