//! Following a stack after `execute-change-set`, on a stand-in `aws` that answers as
//! CloudFormation can: executing is asynchronous, so an update's stack first still shows its old
//! `UPDATE_COMPLETE`, then `UPDATE_IN_PROGRESS` with new events, then the new final status.
mod common;

use infra::aws::Aws;
use infra::deploy::stack::{self, ChangeSet, StackRef};

#[test]
fn an_update_is_followed_until_it_has_moved_and_settled() {
    let dir = common::scratch("stack-wait");
    // describe-stacks: the old final status twice, then in progress, then the new final status.
    let cases = r#"  "cloudformation execute-change-set") echo '{}' ;;
  "cloudformation describe-stacks")
    n=$(cat "$log.n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$log.n"
    case $n in 1|2) s=UPDATE_COMPLETE ;; 3) s=UPDATE_IN_PROGRESS ;; *) s=UPDATE_COMPLETE ;; esac
    echo "{\"Stacks\": [{\"StackName\": \"sf\", \"StackStatus\": \"$s\"}]}" ;;
  "cloudformation describe-stack-events")
    n=$(cat "$log.n" 2>/dev/null || echo 0)
    old='{"EventId": "old", "Timestamp": "2026-12-01T00:00:00Z", "LogicalResourceId": "sf", "ResourceStatus": "UPDATE_COMPLETE"}'
    new='{"EventId": "new", "Timestamp": "2026-12-06T00:00:00Z", "LogicalResourceId": "OriginResponseVersion", "ResourceStatus": "UPDATE_COMPLETE"}'
    if [ "$n" -ge 3 ]; then echo "{\"StackEvents\": [$new, $old]}"; else echo "{\"StackEvents\": [$old]}"; fi ;;"#;
    let aws = Aws::with_program(common::stand_in(&dir, cases));
    let set = ChangeSet {
        name: "scalefront-1".into(),
        create: false,
        changes: 1,
    };
    let mut lines = Vec::new();
    stack::execute(&aws, &StackRef::new("sf", "us-east-1"), &set, &mut |l| {
        lines.push(l.to_owned())
    })
    .unwrap();
    let text = lines.join("\n");
    let describes = std::fs::read_to_string(dir.join("calls.log"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cloudformation describe-stacks"))
        .count();
    assert!(
        describes >= 4,
        "stopped at the stale status: {describes} describes\n{text}"
    );
    assert!(
        text.contains("OriginResponseVersion"),
        "the new event is printed:\n{text}"
    );
    assert!(
        !text.contains("  00:00:00  sf "),
        "old events are not news:\n{text}"
    );
    assert!(text.contains("stack sf: UPDATE_COMPLETE after"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
