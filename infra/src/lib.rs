//! CloudFormation templates, deploy and doctor.
