//! What `doctor` knows about a live setup: the AWS API responses it collected, as the `aws` CLI
//! returns them (PascalCase JSON). Only the fields the checks read are typed; the rest is ignored, so a
//! recorded response deserialises as it is. Fixtures in `infra/tests/doctor/` are files of this type.
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

fn null_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// CloudFront's `{"Quantity": n, "Items": [...]}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct List<T> {
    #[serde(default)]
    pub quantity: u32,
    #[serde(default = "Vec::new", deserialize_with = "null_vec")]
    pub items: Vec<T>,
}

/// Everything collected. Keys of the maps are the identifiers the distribution refers to.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Facts {
    /// `cloudfront get-distribution`.
    pub distribution: GetDistribution,
    /// `cloudfront get-cache-policy`, by policy id.
    #[serde(default)]
    pub cache_policies: BTreeMap<String, GetCachePolicy>,
    /// `cloudfront get-origin-access-control`, by id.
    #[serde(default)]
    pub origin_access_controls: BTreeMap<String, GetOriginAccessControl>,
    /// `cloudfront describe-function --stage LIVE`, by function ARN (`None`: not published).
    #[serde(default)]
    pub viewer_functions: BTreeMap<String, Option<DescribeFunction>>,
    /// Lambda functions: Lambda@Edge associations by association ARN, the regional failover function
    /// by its function URL's domain.
    #[serde(default)]
    pub lambdas: BTreeMap<String, LambdaFacts>,
    /// S3 buckets behind S3 origins, by name.
    #[serde(default)]
    pub buckets: BTreeMap<String, BucketFacts>,
    /// Calls that failed while collecting (each becomes a failing line: the check could not run).
    #[serde(default)]
    pub errors: Vec<String>,
    /// The site's own domain (only for a distribution with aliases): its certificate, DNS answers
    /// and Route 53 records.
    #[serde(default)]
    pub domain: Option<super::domain::DomainFacts>,
    /// The day the facts were read (`YYYY-MM-DD`, UTC): what runtime deprecation dates are
    /// compared with (`None` in facts saved before doctor recorded it).
    #[serde(default)]
    pub collected: Option<String>,
    /// With `--stack`: what the stack itself says (its signing-key store).
    #[serde(default)]
    pub stack: Option<StackFacts>,
    /// The KeyValueStores viewer functions are associated with, by store ARN.
    #[serde(default)]
    pub key_value_stores: BTreeMap<String, KvsFacts>,
    /// `lambda get-account-settings`, by region: us-east-1 and every region a resize function ran
    /// in (where its log groups are) or lives in (regional mode).
    #[serde(default)]
    pub account_settings: BTreeMap<String, AccountSettings>,
    /// The automatic purge next to the bucket (`None`: no bucket to look next to, or facts saved
    /// before doctor read it).
    #[serde(default)]
    pub purge: Option<PurgeFacts>,
}

/// The automatic purge's wiring, in the bucket's region: the stack next to the bucket
/// (`<stack>-region`, [`crate::template::region_stack_name`]), its purge function (with its role and
/// resource policy), the EventBridge rule that runs it and the bucket's notification configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PurgeFacts {
    /// The photo bucket and its region.
    pub bucket: String,
    pub region: String,
    /// The stack looked for next to the bucket.
    pub stack: String,
    /// Its name was guessed from scalefront's default naming (no `--stack`): another name would
    /// not be found.
    #[serde(default)]
    pub guessed: bool,
    /// `cloudformation describe-stacks` of that stack (`None`: there is no such stack).
    #[serde(default)]
    pub describe_stack: Option<Value>,
    /// The function its `PurgeFunctionName` output names: `get-function-configuration`, its role,
    /// and `lambda get-policy` (who may invoke it; `None`: no resource policy).
    #[serde(default)]
    pub function: Option<LambdaFacts>,
    /// `events describe-rule` of the rule its `PurgeRuleArn` output names (`None`: not found).
    #[serde(default)]
    pub rule: Option<Value>,
    /// `events list-targets-by-rule` of that rule.
    #[serde(default)]
    pub targets: Option<Value>,
    /// `s3api get-bucket-notification-configuration` of the bucket (`{}`: no notifications).
    #[serde(default)]
    pub notification: Option<Value>,
}

impl PurgeFacts {
    /// An output of the stack next to the bucket.
    pub fn output(&self, key: &str) -> Option<&str> {
        stack_value(
            self.describe_stack.as_ref()?,
            "Outputs",
            "OutputKey",
            "OutputValue",
            key,
        )
    }

    /// The stack's status (`UPDATE_COMPLETE`, `ROLLBACK_COMPLETE`…).
    pub fn stack_status(&self) -> Option<&str> {
        self.describe_stack
            .as_ref()?
            .pointer("/Stacks/0/StackStatus")
            .and_then(Value::as_str)
    }
}

/// `describe-stacks`' `Parameters` or `Outputs` entry named `key`: its value.
pub fn stack_value<'a>(
    describe_stacks: &'a Value,
    list: &str,
    key_field: &str,
    value_field: &str,
    key: &str,
) -> Option<&'a str> {
    describe_stacks
        .pointer(&format!("/Stacks/0/{list}"))
        .and_then(Value::as_array)?
        .iter()
        .find(|o| o.get(key_field).and_then(Value::as_str) == Some(key))
        .and_then(|o| o.get(value_field).and_then(Value::as_str))
}

/// What a scalefront stack holds besides the distribution.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StackFacts {
    pub name: String,
    /// Physical ids (names) of its `AWS::CloudFront::KeyValueStore` resources: a stack made from a
    /// signed spec has one (`SigningKeys`).
    #[serde(default)]
    pub key_value_stores: Vec<String>,
}

/// One KeyValueStore, read through its data plane (`aws cloudfront-keyvaluestore`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KvsFacts {
    /// `describe-key-value-store --kvs-arn` (`None`: no such store).
    #[serde(default)]
    pub describe: Option<Value>,
    /// The keys `list-keys` returned. Values are secrets: the collector drops them, so they are
    /// neither printed nor saved with `--save-facts`.
    #[serde(default)]
    pub keys: Vec<String>,
}

/// `lambda get-account-settings`
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html>).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountSettings {
    pub account_limit: AccountLimit,
    #[serde(default)]
    pub account_usage: Value,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountLimit {
    /// The region's concurrency quota ("Concurrent executions").
    pub concurrent_executions: u32,
    /// What is left of it for functions without reserved concurrency, Lambda@Edge among them.
    pub unreserved_concurrent_executions: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDistribution {
    pub distribution: Distribution,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Distribution {
    pub id: String,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub status: String,
    pub domain_name: String,
    pub distribution_config: DistributionConfig,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DistributionConfig {
    /// The site's own domain names (alternate domain names, CNAMEs).
    #[serde(default)]
    pub aliases: List<String>,
    #[serde(default)]
    pub viewer_certificate: Option<super::domain::ViewerCertificate>,
    pub origins: List<Origin>,
    #[serde(default)]
    pub origin_groups: List<OriginGroup>,
    pub default_cache_behavior: CacheBehavior,
    #[serde(default)]
    pub cache_behaviors: List<CacheBehavior>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub http_version: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Origin {
    pub id: String,
    pub domain_name: String,
    #[serde(default, rename = "S3OriginConfig")]
    pub s3_origin_config: Option<S3OriginConfig>,
    #[serde(default)]
    pub custom_origin_config: Option<Value>,
    #[serde(default)]
    pub origin_access_control_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3OriginConfig {
    #[serde(default)]
    pub origin_access_identity: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginGroup {
    pub id: String,
    pub failover_criteria: FailoverCriteria,
    pub members: List<Member>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailoverCriteria {
    pub status_codes: List<u16>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Member {
    pub origin_id: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CacheBehavior {
    #[serde(default)]
    pub path_pattern: Option<String>,
    pub target_origin_id: String,
    #[serde(default)]
    pub cache_policy_id: Option<String>,
    /// The legacy cache settings (no cache policy).
    #[serde(default)]
    pub forwarded_values: Option<ForwardedValues>,
    #[serde(default)]
    pub lambda_function_associations: List<LambdaAssociation>,
    #[serde(default)]
    pub function_associations: List<FunctionAssociation>,
}

impl CacheBehavior {
    pub fn name(&self) -> String {
        match &self.path_pattern {
            Some(p) => format!("behaviour {p}"),
            None => "default behaviour".to_owned(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LambdaAssociation {
    #[serde(rename = "LambdaFunctionARN")]
    pub arn: String,
    pub event_type: String,
    #[serde(default)]
    pub include_body: Option<bool>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionAssociation {
    #[serde(rename = "FunctionARN")]
    pub arn: String,
    pub event_type: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardedValues {
    #[serde(default)]
    pub query_string: bool,
    #[serde(default)]
    pub query_string_cache_keys: List<String>,
    #[serde(default)]
    pub headers: List<String>,
    #[serde(default)]
    pub cookies: Option<Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCachePolicy {
    pub cache_policy: CachePolicy,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CachePolicy {
    pub id: String,
    pub cache_policy_config: CachePolicyConfig,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CachePolicyConfig {
    pub name: String,
    #[serde(rename = "MinTTL", default)]
    pub min_ttl: u64,
    #[serde(rename = "DefaultTTL", default)]
    pub default_ttl: u64,
    #[serde(rename = "MaxTTL", default)]
    pub max_ttl: u64,
    pub parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CacheKeyParameters {
    #[serde(default)]
    pub enable_accept_encoding_gzip: bool,
    #[serde(default)]
    pub enable_accept_encoding_brotli: bool,
    pub headers_config: HeadersConfig,
    pub cookies_config: CookiesConfig,
    pub query_strings_config: QueryStringsConfig,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeadersConfig {
    pub header_behavior: String,
    #[serde(default)]
    pub headers: List<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CookiesConfig {
    pub cookie_behavior: String,
    #[serde(default)]
    pub cookies: List<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStringsConfig {
    pub query_string_behavior: String,
    #[serde(default)]
    pub query_strings: List<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetOriginAccessControl {
    pub origin_access_control: OriginAccessControl,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginAccessControl {
    pub id: String,
    pub origin_access_control_config: OriginAccessControlConfig,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginAccessControlConfig {
    pub name: String,
    pub signing_protocol: String,
    pub signing_behavior: String,
    pub origin_access_control_origin_type: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeFunction {
    pub function_summary: FunctionSummary,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionSummary {
    pub name: String,
    #[serde(default)]
    pub status: String,
    pub function_config: CfFunctionConfig,
    #[serde(default)]
    pub function_metadata: Value,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CfFunctionConfig {
    #[serde(default)]
    pub comment: String,
    pub runtime: String,
    /// The KeyValueStore the function reads (at most one).
    #[serde(default)]
    pub key_value_store_associations: List<KvsAssociation>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KvsAssociation {
    #[serde(rename = "KeyValueStoreARN")]
    pub arn: String,
}

/// One Lambda function as the distribution uses it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LambdaFacts {
    /// `lambda get-function-configuration` for the exact ARN the distribution names.
    #[serde(default)]
    pub configuration: Option<FunctionConfiguration>,
    /// `iam get-role` of its execution role, with the policy documents attached to it.
    #[serde(default)]
    pub role: Option<RoleFacts>,
    /// `lambda get-policy` (resource policy; regional mode: who may invoke).
    #[serde(default)]
    pub policy: Option<Value>,
    /// `lambda get-function-url-config` (regional mode).
    #[serde(default)]
    pub url: Option<Value>,
    /// Where it ran recently and where its logs are, one entry per region looked at.
    #[serde(default)]
    pub activity: Vec<Activity>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    pub function_name: String,
    pub function_arn: String,
    #[serde(default)]
    pub runtime: Option<String>,
    pub role: String,
    #[serde(default)]
    pub handler: Option<String>,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub memory_size: u32,
    #[serde(default)]
    pub timeout: u32,
    #[serde(default)]
    pub environment: Option<Environment>,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub package_type: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RoleFacts {
    /// `iam get-role`.
    pub get_role: GetRole,
    /// The documents of its inline and customer-managed policies.
    #[serde(default)]
    pub policy_documents: Vec<Value>,
    /// ARNs of the managed policies attached (AWS-managed ones are known by name, not fetched).
    #[serde(default)]
    pub attached_policy_arns: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRole {
    pub role: Role,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: String,
    pub arn: String,
    pub assume_role_policy_document: Value,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Activity {
    pub region: String,
    /// Sum of `Invocations` over the window collected.
    pub invocations: f64,
    /// Log groups of this function found in the region.
    #[serde(default)]
    pub log_groups: Vec<String>,
    /// Their retention in days by group name (`null`: never expires; a group missing here was
    /// found by an older doctor that did not record retentions).
    #[serde(default)]
    pub retention: BTreeMap<String, Option<u32>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BucketFacts {
    /// `s3api get-bucket-location` (`None` → us-east-1, as S3 reports it).
    #[serde(default)]
    pub region: Option<String>,
    /// `s3api get-bucket-policy` (`{"Policy": "<json>"}`), `None` when the bucket has no policy.
    #[serde(default)]
    pub policy: Option<Value>,
}

/// A Lambda ARN taken apart: `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaArn {
    pub region: String,
    pub account: String,
    pub name: String,
    pub qualifier: Option<String>,
}

impl LambdaArn {
    pub fn parse(arn: &str) -> Option<LambdaArn> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
            return None;
        }
        Some(LambdaArn {
            region: parts[3].to_owned(),
            account: parts[4].to_owned(),
            name: parts[6].to_owned(),
            qualifier: parts.get(7).map(|q| (*q).to_owned()),
        })
    }
}

/// The bucket an S3 origin's domain names (`b.s3.amazonaws.com`, `b.s3.eu-west-1.amazonaws.com`,
/// `b.s3-eu-west-1.amazonaws.com`); `None` for anything else, website endpoints included.
pub fn s3_origin_bucket(domain: &str) -> Option<&str> {
    let (bucket, rest) = domain.split_once(".s3")?;
    let rest = rest.strip_suffix(".amazonaws.com")?;
    let ok = rest.is_empty()
        || rest.starts_with('.') && !rest.contains("website")
        || rest.starts_with('-') && !rest.starts_with("-website");
    ok.then_some(bucket)
}

/// The region of a Lambda function URL domain (`<id>.lambda-url.<region>.on.aws`).
pub fn lambda_url_region(domain: &str) -> Option<&str> {
    domain.split_once(".lambda-url.")?.1.strip_suffix(".on.aws")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_domains() {
        let a =
            LambdaArn::parse("arn:aws:lambda:us-east-1:123456789012:function:sf-origin-response:7")
                .unwrap();
        assert_eq!(
            (a.region.as_str(), a.name.as_str(), a.qualifier.as_deref()),
            ("us-east-1", "sf-origin-response", Some("7"))
        );
        assert_eq!(
            LambdaArn::parse("arn:aws:lambda:eu-west-1:1:function:f")
                .unwrap()
                .qualifier,
            None
        );
        assert!(LambdaArn::parse("arn:aws:s3:::b").is_none());
        assert_eq!(
            s3_origin_bucket("photos.s3.eu-west-1.amazonaws.com"),
            Some("photos")
        );
        assert_eq!(s3_origin_bucket("photos.s3.amazonaws.com"), Some("photos"));
        assert_eq!(
            s3_origin_bucket("my.photos.s3-eu-west-1.amazonaws.com"),
            Some("my.photos")
        );
        assert_eq!(
            s3_origin_bucket("photos.s3-website-eu-west-1.amazonaws.com"),
            None
        );
        assert_eq!(s3_origin_bucket("example.com"), None);
        assert_eq!(
            lambda_url_region("abc.lambda-url.us-east-1.on.aws"),
            Some("us-east-1")
        );
    }
}
