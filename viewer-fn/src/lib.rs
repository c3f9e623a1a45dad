//! The rule spec, the native viewer-request rewrite, and the CloudFront Function generator.
