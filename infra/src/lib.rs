//! scalefront's AWS side: the CloudFormation templates ([`template`]), `scalefront deploy`
//! ([`deploy`]) and `scalefront doctor` ([`doctor`]); the runtimes Lambda@Edge takes ([`runtime`]) and
//! the retention of its log groups ([`logs`]).
//!
//! AWS is reached through the `aws` command line tool ([`aws`]), not the AWS SDK for Rust: the SDK
//! crates this needs (CloudFormation, CloudFront, Lambda, IAM, S3, STS, CloudWatch, Logs) would add
//! many minutes to every cold build of the `scalefront` binary on two cores, for calls that are a few
//! dozen per deploy and not on any hot path. The CLI also brings the whole credential chain (profiles,
//! SSO, roles) exactly as the user already has it configured.
//!
//! Interface note: [`template::render`] returns `Result<String, ParamError>` rather than `String`,
//! because bucket, region and stack names come from the user and are checked before they reach YAML.

pub mod aws;
pub mod deploy;
pub mod dns;
pub mod doctor;
pub mod domain;
pub mod keys;
pub mod logs;
pub mod policy;
pub mod purge;
pub mod runtime;
pub mod steps;
pub mod teardown;
pub mod template;

pub use template::{render, Artifact, Mode, ParamError, Params};
