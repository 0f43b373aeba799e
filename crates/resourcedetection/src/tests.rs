//! Detector tests against fake metadata servers on 127.0.0.1, asserting Go's attribute values.

use std::time::{Duration, Instant};

use pdata::proto::common::v1::{AnyValue, any_value};

use crate::fake::{FakeServer, Route, closed_port_url, ec2_routes};
use crate::*;

fn settings(vars: &[(&str, &str)]) -> Settings {
    let mut s = Settings::new(
        Env::fixed(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))),
        Duration::from_secs(2),
    );
    s.retry.enabled = false;
    s
}

async fn run(names: &[&str], cfg: &DetectorConfigs, set: &Settings) -> Result<Found, String> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let d = build(&names, cfg, set)?;
    detect(&d, set).await
}

fn pairs(f: &Found) -> Vec<(String, String)> {
    f.attributes
        .iter()
        .map(|kv| (kv.key.clone(), show(kv.value.as_ref())))
        .collect()
}

fn show(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::ArrayValue(a)) => format!(
            "[{}]",
            a.values
                .iter()
                .map(|v| show(Some(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other:?}"),
    }
}

fn expect(f: &Found, want: &[(&str, &str)]) {
    let got = pairs(f);
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn env_parses_otel_resource_attributes_with_url_decoding() {
    let set = settings(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        " service.name = shop , team=a%20b+c,empty=,url=https://x.example/p",
    )]);
    let f = run(&["env"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("service.name", "shop"),
            ("team", "a b c"),
            ("empty", ""),
            ("url", "https://x.example/p"),
        ],
    );
    assert_eq!(f.schema_url, "");
}

#[tokio::test]
async fn env_falls_back_to_deprecated_otel_resource() {
    let set = settings(&[("OTEL_RESOURCE_ATTRIBUTES", "  "), ("OTEL_RESOURCE", "a=1")]);
    let f = run(&["env"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(&f, &[("a", "1")]);
}

#[test]
fn env_malformed_values_give_gos_errors() {
    assert_eq!(
        env::parse("novalue").unwrap_err(),
        "invalid resource format: \"novalue\""
    );
    assert_eq!(
        env::parse("a=1,junk").unwrap_err(),
        "invalid resource format, invalid text: \"junk\""
    );
    assert_eq!(
        env::parse("a=%zz").unwrap_err(),
        "invalid resource format in attribute: \"a=%zz\", err: invalid URL escape \"%zz\""
    );
}

#[tokio::test]
async fn env_error_is_fatal_after_retries_until_the_timeout() {
    let mut set = settings(&[("OTEL_RESOURCE_ATTRIBUTES", "broken")]);
    set.retry.enabled = true;
    set.retry.initial_interval = DurationValue(Duration::from_millis(50));
    set.timeout = Duration::from_millis(400);
    let t = Instant::now();
    let err = run(&["env"], &DetectorConfigs::default(), &set)
        .await
        .unwrap_err();
    assert_eq!(err, "invalid resource format: \"broken\"");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[test]
fn unknown_and_unbuilt_detectors_are_refused() {
    let set = settings(&[]);
    let err = build(&["nope".into()], &DetectorConfigs::default(), &set)
        .err()
        .unwrap();
    assert_eq!(err, "invalid detector key: nope");
    let err = build(&["consul".into()], &DetectorConfigs::default(), &set)
        .err()
        .unwrap();
    assert!(
        err.starts_with("the \"consul\" detector is not built into ferrotel yet"),
        "{err}"
    );
}

fn os_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test]
async fn system_os_source_sets_host_name_and_os_type_by_default() {
    let mut cfg = DetectorConfigs::default();
    cfg.system.hostname_sources = vec!["os".into()];
    let f = run(&["system"], &cfg, &settings(&[])).await.unwrap();
    expect(&f, &[("host.name", &os_hostname()), ("os.type", "linux")]);
    assert_eq!(f.schema_url, SCHEMA_URL_1_6_1);
}

#[tokio::test]
async fn system_switches_enable_host_id_arch_description_cpu_and_disable_defaults() {
    let mut cfg = DetectorConfigs::default();
    cfg.system.hostname_sources = vec!["os".into()];
    for (k, on) in [
        ("host.arch", true),
        ("os.description", true),
        ("host.cpu.model.name", true),
        ("host.cpu.cache.l2.size", true),
        ("host.ip", true),
        ("os.type", false),
    ] {
        cfg.system.resource_attributes.insert(
            k.into(),
            AttrSwitch {
                enabled: Some(on),
                ..Default::default()
            },
        );
    }
    let f = run(&["system"], &cfg, &settings(&[])).await.unwrap();
    let keys: Vec<String> = pairs(&f).into_iter().map(|(k, _)| k).collect();
    assert!(!keys.contains(&"os.type".to_string()), "{keys:?}");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(f.get_str("host.arch"), Some("amd64"));
    }
    let desc = f.get_str("os.description").unwrap();
    assert!(
        desc.contains(&format!("Linux {} ", os_hostname())),
        "{desc}"
    );
    assert!(matches!(
        f.get("host.ip").and_then(|v| v.value.as_ref()),
        Some(any_value::Value::ArrayValue(_))
    ));
    if std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|s| s.contains("model name")) {
        assert!(f.get_str("host.cpu.model.name").is_some());
    }
}

#[test]
fn system_parsers_read_os_release_cpuinfo_and_hosts_as_go() {
    assert_eq!(
        system::os_release(
            "NAME=\"Ubuntu\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nPRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n"
        ),
        "Ubuntu 22.04.3 LTS (Jammy Jellyfish)"
    );
    assert_eq!(
        system::os_release("NAME=Debian\nVERSION_ID=12\n"),
        "Debian 12"
    );
    assert_eq!(
        system::os_release("PRETTY_NAME='Arch Linux'\n"),
        "Arch Linux"
    );
    let c = system::first_cpu(
        "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R)\nstepping\t: 7\ncache size\t: 36608 KB\n\nprocessor\t: 1\nvendor_id\t: Other\n",
    );
    assert_eq!(
        (
            c.vendor_id.as_str(),
            c.family.as_str(),
            c.model.as_str(),
            c.model_name.as_str(),
            c.stepping,
            c.cache_size
        ),
        ("GenuineIntel", "6", "85", "Intel(R) Xeon(R)", 7, 36608)
    );
    let hosts = "127.0.0.1 localhost\n10.0.0.5 web1.example.com web1 # comment\n";
    assert_eq!(
        system::from_hosts(hosts, "web1").as_deref(),
        Some("web1.example.com")
    );
    assert_eq!(system::from_hosts(hosts, "db1"), None);
}

#[tokio::test]
async fn system_asks_no_resolver_while_the_metadata_endpoint_is_redirected() {
    let mut cfg = DetectorConfigs::default();
    cfg.system.hostname_sources = vec!["cname".into(), "lookup".into(), "os".into()];
    let set = settings(&[(METADATA_ENDPOINT_ENV, "http://127.0.0.1:9")]);
    let f = run(&["system"], &cfg, &set).await.unwrap();
    // cname and lookup are skipped without a query; the os source answers.
    assert_eq!(f.get_str("host.name"), Some(os_hostname().as_str()));
    cfg.system.hostname_sources = vec!["cname".into()];
    let err = run(&["system"], &cfg, &set).await.unwrap_err();
    assert_eq!(err, "all hostname sources failed to get hostname");
}

#[test]
fn system_refuses_an_unknown_hostname_source() {
    let mut cfg = DetectorConfigs::default();
    cfg.system.hostname_sources = vec!["os".into(), "dhcp".into()];
    assert_eq!(
        cfg.validate().unwrap_err(),
        "system: hostname_sources contains invalid value: \"dhcp\""
    );
}

#[test]
fn unknown_resource_attribute_switch_is_refused() {
    let mut cfg = DetectorConfigs::default();
    cfg.ec2
        .resource_attributes
        .insert("host.nam".into(), AttrSwitch::default());
    assert_eq!(
        cfg.validate().unwrap_err(),
        "ec2: resource_attributes: has invalid keys: host.nam"
    );
}

const EC2_WANT: &[(&str, &str)] = &[
    ("cloud.provider", "aws"),
    ("cloud.platform", "aws_ec2"),
    ("cloud.region", "us-west-2"),
    ("cloud.account.id", "123456789012"),
    ("cloud.availability_zone", "us-west-2b"),
    ("host.id", "i-1234567890abcdef0"),
    ("host.image.id", "ami-5fb8c835"),
    ("host.type", "t2.micro"),
    ("host.name", "ip-10-158-112-84.us-west-2.compute.internal"),
];

#[tokio::test]
async fn ec2_reads_imdsv2_identity_document_and_hostname() {
    let srv = FakeServer::start(ec2_routes()).await;
    let set = settings(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &srv.url)]);
    let f = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(&f, EC2_WANT);
    assert_eq!(srv.requests()[0].method, "PUT");
}

#[tokio::test]
async fn ec2_sdk_override_wins_over_ferrotel_endpoint() {
    let srv = FakeServer::start(ec2_routes()).await;
    let set = settings(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &srv.url),
        (METADATA_ENDPOINT_ENV, &closed_port_url()),
    ]);
    let f = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(&f, EC2_WANT);
}

#[tokio::test]
async fn ec2_falls_back_to_imdsv1_when_the_token_call_is_refused() {
    let routes = vec![
        Route::put("/latest/api/token", "").status(403),
        Route::get("/latest/meta-data/instance-id", "i-1"),
        Route::get(
            "/latest/dynamic/instance-identity/document",
            crate::fake::EC2_IDENTITY,
        ),
        Route::get("/latest/meta-data/hostname", "h1"),
    ];
    let srv = FakeServer::start(routes).await;
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let f = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert_eq!(f.get_str("host.name"), Some("h1"));
    assert!(
        srv.requests()[1]
            .headers
            .iter()
            .all(|(k, _)| k != "x-aws-ec2-metadata-token")
    );
}

#[tokio::test]
async fn ec2_off_platform_contributes_nothing_unless_fail_on_missing_metadata() {
    let mut set = settings(&[(METADATA_ENDPOINT_ENV, &closed_port_url())]);
    let f = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
    set.fail_on_missing_metadata = true;
    let err = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap_err();
    assert!(err.starts_with("EC2 metadata unavailable"), "{err}");
}

#[tokio::test]
async fn ec2_identity_document_failure_after_imds_answered_is_an_error() {
    let mut routes = ec2_routes();
    routes.remove(2);
    let srv = FakeServer::start(routes).await;
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let err = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap_err();
    assert!(err.starts_with("failed getting identity document"), "{err}");
}

#[tokio::test]
async fn ec2_tags_from_imds_match_the_regexes() {
    let mut routes = ec2_routes();
    routes.push(Route::get(
        "/latest/meta-data/tags/instance",
        "Name\nteam\nsecret",
    ));
    routes.push(Route::get("/latest/meta-data/tags/instance/Name", "web"));
    routes.push(Route::get("/latest/meta-data/tags/instance/team", "core"));
    let srv = FakeServer::start(routes).await;
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let mut cfg = DetectorConfigs::default();
    cfg.ec2.tags = vec!["^Name$".into(), "^te.*".into()];
    cfg.ec2.tags_from_imds = true;
    let f = run(&["ec2"], &cfg, &set).await.unwrap();
    assert_eq!(f.get_str("ec2.tag.Name"), Some("web"));
    assert_eq!(f.get_str("ec2.tag.team"), Some("core"));
    assert_eq!(f.get("ec2.tag.secret"), None);
}

#[tokio::test]
async fn ec2_slow_imds_fails_soft_within_the_timeout() {
    let srv = FakeServer::start_with_delay(ec2_routes(), Duration::from_secs(10)).await;
    let mut set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    set.timeout = Duration::from_millis(300);
    let t = Instant::now();
    let f = run(&["ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[tokio::test]
async fn detectors_merge_in_order_first_detector_wins() {
    let srv = FakeServer::start(ec2_routes()).await;
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, srv.url.as_str()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "host.name=from-env,cloud.region=mars",
        ),
    ]);
    let f = run(&["env", "ec2"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert_eq!(f.get_str("host.name"), Some("from-env"));
    assert_eq!(f.get_str("cloud.region"), Some("mars"));
    assert_eq!(f.get_str("host.id"), Some("i-1234567890abcdef0"));
    let f = run(&["ec2", "env"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert_eq!(
        f.get_str("host.name"),
        Some("ip-10-158-112-84.us-west-2.compute.internal")
    );
    assert_eq!(f.schema_url, SCHEMA_URL_1_6_1);
}

const ECS_TASK: &str = r#"{
  "Cluster": "default",
  "TaskARN": "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c",
  "Family": "curltest",
  "Revision": "26",
  "DesiredStatus": "RUNNING",
  "KnownStatus": "RUNNING",
  "AvailabilityZone": "us-west-2d",
  "LaunchType": "EC2",
  "Containers": [
    {"DockerId": "self", "Name": "collector", "Type": "NORMAL", "KnownStatus": "RUNNING",
     "LogDriver": "awslogs", "LogOptions": {"awslogs-group": "/ecs/own", "awslogs-region": "us-west-2", "awslogs-stream": "ecs/own/1"}},
    {"DockerId": "app", "Name": "app", "Type": "NORMAL", "KnownStatus": "RUNNING",
     "LogDriver": "awslogs", "LogOptions": {"awslogs-create-group": "true", "awslogs-group": "/ecs/app", "awslogs-region": "us-west-2", "awslogs-stream": "ecs/app/2"}},
    {"DockerId": "init", "Name": "init", "Type": "NORMAL", "KnownStatus": "STOPPED",
     "LogDriver": "awslogs", "LogOptions": {"awslogs-group": "/ecs/init", "awslogs-region": "us-west-2", "awslogs-stream": "x"}}
  ]
}"#;

#[tokio::test]
async fn ecs_task_metadata_v4_gives_gos_attributes() {
    let srv = FakeServer::start(vec![
        Route::get("/v4/abc/task", ECS_TASK),
        Route::get("/v4/abc", r#"{"DockerId": "self", "Name": "collector"}"#),
    ])
    .await;
    let set = settings(&[(
        "ECS_CONTAINER_METADATA_URI_V4",
        &format!("{}/v4/abc", srv.url),
    )]);
    let f = run(&["ecs"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_ecs"),
            (
                "aws.ecs.task.arn",
                "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c",
            ),
            ("aws.ecs.task.family", "curltest"),
            ("aws.ecs.task.id", "158d1c8083dd49d6b527399fd6414f5c"),
            ("aws.ecs.task.revision", "26"),
            ("cloud.account.id", "111122223333"),
            ("cloud.region", "us-west-2"),
            (
                "aws.ecs.cluster.arn",
                "arn:aws:ecs:us-west-2:111122223333:cluster/default",
            ),
            ("cloud.availability_zone", "us-west-2d"),
            ("aws.ecs.launchtype", "ec2"),
            ("aws.log.group.names", "[/ecs/app]"),
            (
                "aws.log.group.arns",
                "[arn:aws:logs:us-west-2:111122223333:log-group:/ecs/app]",
            ),
            ("aws.log.stream.names", "[ecs/app/2]"),
            (
                "aws.log.stream.arns",
                "[arn:aws:logs:us-west-2:111122223333:log-group:/ecs/app:log-stream:ecs/app/2]",
            ),
        ],
    );
}

#[tokio::test]
async fn ecs_without_the_endpoint_variable_contributes_nothing() {
    let f = run(&["ecs"], &DetectorConfigs::default(), &settings(&[]))
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
}

#[tokio::test]
async fn lambda_reads_the_runtime_environment() {
    let set = settings(&[
        ("AWS_LAMBDA_FUNCTION_NAME", "checkout"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/30/[$LATEST]abc"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/checkout"),
    ]);
    let f = run(&["lambda"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_lambda"),
            ("cloud.region", "eu-west-1"),
            ("faas.name", "checkout"),
            ("faas.version", "$LATEST"),
            ("faas.instance", "2026/11/30/[$LATEST]abc"),
            ("faas.max_memory", "128"),
            ("aws.log.group.names", "[/aws/lambda/checkout]"),
            ("aws.log.stream.names", "[2026/11/30/[$LATEST]abc]"),
        ],
    );
    let f = run(&["lambda"], &DetectorConfigs::default(), &settings(&[]))
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
}

#[tokio::test]
async fn heroku_maps_dyno_metadata_as_gos_readme_tables_it() {
    let set = settings(&[
        ("HEROKU_DYNO_ID", "1vac4117-c29f-4312-521e-ba4d8638c1ac"),
        ("HEROKU_APP_ID", "9daa2797-e49b-4624-932f-ec3f9688e3da"),
        ("HEROKU_APP_NAME", "example-app"),
        ("HEROKU_RELEASE_CREATED_AT", "2015-04-02T18:00:42Z"),
        ("HEROKU_RELEASE_VERSION", "v42"),
        (
            "HEROKU_SLUG_COMMIT",
            "2c3a0b24069af49b3de35b8e8c26765c1dba9ff0",
        ),
    ]);
    let f = run(&["heroku"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            (
                "service.instance.id",
                "1vac4117-c29f-4312-521e-ba4d8638c1ac",
            ),
            ("heroku.app.id", "9daa2797-e49b-4624-932f-ec3f9688e3da"),
            ("cloud.provider", "heroku"),
            ("service.name", "example-app"),
            ("heroku.release.creation_timestamp", "2015-04-02T18:00:42Z"),
            ("service.version", "v42"),
            (
                "heroku.release.commit",
                "2c3a0b24069af49b3de35b8e8c26765c1dba9ff0",
            ),
        ],
    );
}

fn gce_routes() -> Vec<Route> {
    let g = |p: &str, b: &str| {
        Route::get(&format!("/computeMetadata/v1/{p}"), b).require("metadata-flavor", "Google")
    };
    vec![
        Route::get("/", "").header("Metadata-Flavor", "Google"),
        g("project/project-id", "my-project"),
        g(
            "instance/machine-type",
            "projects/123/machineTypes/e2-medium",
        ),
        g("instance/zone", "projects/123/zones/us-central1-c"),
        g("instance/id", "4520031799277581759"),
        g("instance/name", "instance-1"),
        g("instance/hostname", "instance-1.c.my-project.internal"),
        g("instance/attributes/cluster-location", "us-central1"),
        g("instance/attributes/cluster-name", "prod"),
        g("instance/region", "projects/123/regions/europe-west1"),
        g("instance/attributes/", "cluster-name\nteam\nssh-keys"),
        g("instance/attributes/team", "core"),
    ]
}

#[tokio::test]
async fn gcp_compute_engine_attributes_and_labels_from_metadata() {
    let srv = FakeServer::start(gce_routes()).await;
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let mut cfg = DetectorConfigs::default();
    cfg.gcp.labels = vec!["^te".into()];
    let f = run(&["gcp"], &cfg, &set).await.unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "gcp"),
            ("cloud.account.id", "my-project"),
            ("cloud.platform", "gcp_compute_engine"),
            ("cloud.availability_zone", "us-central1-c"),
            ("cloud.region", "us-central1"),
            ("host.type", "e2-medium"),
            ("host.id", "4520031799277581759"),
            ("host.name", "instance-1"),
            ("gcp.gce.instance.labels.team", "core"),
        ],
    );
    assert_eq!(f.schema_url, "https://opentelemetry.io/schemas/1.38.0");
}

#[tokio::test]
async fn gcp_kubernetes_engine_and_cloud_run_via_gce_metadata_host() {
    let srv = FakeServer::start(gce_routes()).await;
    let host = srv.url.trim_start_matches("http://").to_string();
    let set = settings(&[
        ("GCE_METADATA_HOST", &host),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
    ]);
    let f = run(&["gcp"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "gcp"),
            ("cloud.account.id", "my-project"),
            ("cloud.platform", "gcp_kubernetes_engine"),
            ("cloud.region", "us-central1"),
            ("k8s.cluster.name", "prod"),
            ("host.id", "4520031799277581759"),
            ("host.name", "instance-1"),
        ],
    );
    // GCE_METADATA_HOST set: no probe of "/" (Google's client trusts the variable).
    assert!(srv.requests().iter().all(|r| r.path != "/"));

    let set = settings(&[
        ("GCE_METADATA_HOST", &host),
        ("K_CONFIGURATION", "cfg"),
        ("K_SERVICE", "shop"),
        ("K_REVISION", "shop-00001"),
    ]);
    let f = run(&["gcp"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "gcp"),
            ("cloud.account.id", "my-project"),
            ("cloud.platform", "gcp_cloud_run"),
            ("faas.name", "shop"),
            ("faas.version", "shop-00001"),
            ("faas.instance", "4520031799277581759"),
            ("cloud.region", "europe-west1"),
            ("faas.id", "4520031799277581759"),
        ],
    );
}

#[tokio::test]
async fn gcp_off_platform_contributes_nothing() {
    // A server that is not Google's (no Metadata-Flavor header) and a closed port.
    let srv = FakeServer::start(vec![Route::get("/", "hello")]).await;
    for url in [srv.url.clone(), closed_port_url()] {
        let set = settings(&[(METADATA_ENDPOINT_ENV, &url)]);
        let f = run(&["gcp"], &DetectorConfigs::default(), &set)
            .await
            .unwrap();
        assert!(f.attributes.is_empty());
    }
}

const AZURE_COMPUTE: &str = r#"{
  "location": "westeurope",
  "name": "vm-1",
  "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
  "vmSize": "Standard_D2s_v3",
  "subscriptionId": "8d10da13-8125-4ba9-a717-bf7490507b3d",
  "resourceGroupName": "MC_myrg_mycluster_westeurope",
  "vmScaleSetName": "aks-nodepool1-123-vmss",
  "zone": "1",
  "osProfile": {"adminUsername": "azureuser", "computerName": "vm-1-computer"},
  "tagsList": [{"name": "env", "value": "prod"}, {"name": "owner", "value": "ops"}]
}"#;

fn azure_route() -> Route {
    Route::get(
        "/metadata/instance/compute?api-version=2020-09-01&format=json",
        AZURE_COMPUTE,
    )
    .require("metadata", "True")
}

#[tokio::test]
async fn azure_imds_compute_with_tags() {
    let srv = FakeServer::start(vec![azure_route()]).await;
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let mut cfg = DetectorConfigs::default();
    cfg.azure.tags = vec!["^env$".into()];
    let f = run(&["azure"], &cfg, &set).await.unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "azure"),
            ("cloud.platform", "azure_vm"),
            ("host.name", "vm-1-computer"),
            ("cloud.region", "westeurope"),
            ("host.id", "02aab8a4-74ef-476e-8182-f6d2ba4166a6"),
            ("cloud.account.id", "8d10da13-8125-4ba9-a717-bf7490507b3d"),
            ("cloud.availability_zone", "1"),
            ("azure.vm.name", "vm-1"),
            ("azure.vm.size", "Standard_D2s_v3"),
            ("azure.vm.scaleset.name", "aks-nodepool1-123-vmss"),
            ("azure.resourcegroup.name", "MC_myrg_mycluster_westeurope"),
            ("azure.tags.env", "prod"),
        ],
    );
}

#[tokio::test]
async fn azure_slow_imds_fails_soft_within_the_timeout() {
    let srv = FakeServer::start_with_delay(vec![azure_route()], Duration::from_secs(10)).await;
    let mut set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    set.timeout = Duration::from_millis(250);
    let t = Instant::now();
    let f = run(&["azure"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[tokio::test]
async fn aks_platform_and_cluster_name_switch() {
    let srv = FakeServer::start(vec![azure_route()]).await;
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
    ]);
    let f = run(&["aks"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[("cloud.provider", "azure"), ("cloud.platform", "azure_aks")],
    );
    let mut cfg = DetectorConfigs::default();
    cfg.aks.resource_attributes.insert(
        "k8s.cluster.name".into(),
        AttrSwitch {
            enabled: Some(true),
            ..Default::default()
        },
    );
    let f = run(&["aks"], &cfg, &set).await.unwrap();
    assert_eq!(f.get_str("k8s.cluster.name"), Some("mycluster"));
    assert_eq!(azure::cluster_name("custom_rg_name"), "custom_rg_name");
    // Not on Kubernetes: nothing.
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    assert!(
        run(&["aks"], &DetectorConfigs::default(), &set)
            .await
            .unwrap()
            .attributes
            .is_empty()
    );
}

#[tokio::test]
async fn k8s_api_reads_the_node_and_the_cluster_uid() {
    let srv = FakeServer::start(vec![
        Route::get(
            "/api/v1/nodes/node-a",
            r#"{"kind":"Node","metadata":{"name":"node-a","uid":"8f2c7c1e-0000-4000-8000-000000000001"}}"#,
        ),
        Route::get(
            "/api/v1/namespaces/kube-system",
            r#"{"kind":"Namespace","metadata":{"name":"kube-system","uid":"c1a55e00-0000-4000-8000-0000000000aa"}}"#,
        ),
    ])
    .await;
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("K8S_NODE_NAME", "node-a"),
    ]);
    let mut cfg = DetectorConfigs::default();
    cfg.k8snode.auth_type = "none".into();
    let f = run(&["k8snode"], &cfg, &set).await.unwrap();
    expect(
        &f,
        &[
            ("k8s.node.uid", "8f2c7c1e-0000-4000-8000-000000000001"),
            ("k8s.node.name", "node-a"),
            ("k8s.cluster.uid", "c1a55e00-0000-4000-8000-0000000000aa"),
        ],
    );
    assert_eq!(f.schema_url, "https://opentelemetry.io/schemas/1.40.0");
}

#[tokio::test]
async fn k8s_api_forbidden_namespace_skips_cluster_uid_but_a_missing_node_is_an_error() {
    let srv = FakeServer::start(vec![
        Route::get(
            "/api/v1/nodes/node-a",
            r#"{"metadata":{"name":"node-a","uid":"u1"}}"#,
        ),
        Route::get("/api/v1/namespaces/kube-system", "forbidden").status(403),
    ])
    .await;
    let mut cfg = DetectorConfigs::default();
    cfg.k8s_api.auth_type = "none".into();
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("K8S_NODE_NAME", "node-a"),
    ]);
    let f = run(&["k8s_api"], &cfg, &set).await.unwrap();
    expect(&f, &[("k8s.node.uid", "u1"), ("k8s.node.name", "node-a")]);
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("K8S_NODE_NAME", "node-b"),
    ]);
    let err = run(&["k8s_api"], &cfg, &set).await.unwrap_err();
    assert!(err.starts_with("failed getting k8s node UID: "), "{err}");
}

#[test]
fn k8snode_without_the_node_variable_or_cluster_fails_creation() {
    let set = settings(&[]);
    let err = build(&["k8snode".into()], &DetectorConfigs::default(), &set)
        .err()
        .unwrap();
    assert_eq!(
        err,
        "failed creating detector type \"k8snode\": node name can't be found. Check the readme on how to set the required env variable"
    );
    let set = settings(&[("K8S_NODE_NAME", "n")]);
    let err = build(&["k8snode".into()], &DetectorConfigs::default(), &set)
        .err()
        .unwrap();
    assert!(
        err.ends_with("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"),
        "{err}"
    );
}

#[tokio::test]
async fn openshift_reads_the_infrastructure_object_with_the_token() {
    let srv = FakeServer::start(vec![Route::get(
        "/apis/config.openshift.io/v1/infrastructures/cluster",
        r#"{"status":{"infrastructureName":"ocp-7x2k","platformStatus":{"type":"AWS","aws":{"region":"US-EAST-1"}}}}"#,
    )
    .require("authorization", "Bearer s3cret")])
    .await;
    let mut cfg = DetectorConfigs::default();
    cfg.openshift.address = srv.url.clone();
    cfg.openshift.token = "s3cret".into();
    let f = run(&["openshift"], &cfg, &settings(&[])).await.unwrap();
    expect(
        &f,
        &[
            ("k8s.cluster.name", "ocp-7x2k"),
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_openshift"),
            ("cloud.region", "us-east-1"),
        ],
    );
}

#[tokio::test]
async fn docker_info_over_tcp_docker_host() {
    let srv = FakeServer::start(vec![Route::get(
        "/info",
        r#"{"ID":"x","Name":"docker-host-1","OSType":"linux","OperatingSystem":"Ubuntu"}"#,
    )])
    .await;
    let set = settings(&[("DOCKER_HOST", &srv.url.replace("http://", "tcp://"))]);
    let f = run(&["docker"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(&f, &[("host.name", "docker-host-1"), ("os.type", "linux")]);
}

#[tokio::test]
async fn docker_info_over_a_unix_socket_with_chunked_body() {
    let dir = std::env::temp_dir().join(format!("rd-docker-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let sock = dir.join("docker.sock");
    let _ = std::fs::remove_file(&sock);
    let listener = tokio::net::UnixListener::bind(&sock).unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let body = r#"{"Name":"sock-host","OSType":"linux"}"#;
        let resp = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
    });
    let set = settings(&[("DOCKER_HOST", &format!("unix://{}", sock.display()))]);
    let f = run(&["docker"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(&f, &[("host.name", "sock-host"), ("os.type", "linux")]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn docker_unreachable_daemon_contributes_nothing() {
    let set = settings(&[(METADATA_ENDPOINT_ENV, &closed_port_url())]);
    let f = run(&["docker"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
}

#[tokio::test]
async fn eks_needs_an_eks_cluster_version_then_reads_imds() {
    let mut routes = ec2_routes();
    routes.push(Route::get(
        "/version",
        r#"{"major":"1","minor":"30","gitVersion":"v1.30.4-eks-a737599"}"#,
    ));
    let srv = FakeServer::start(routes).await;
    // Without KUBERNETES_SERVICE_HOST Go does not look: nothing.
    let set = settings(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let f = run(&["eks"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    assert!(f.attributes.is_empty());
    // In a cluster (the API redirected to the fake: no KUBERNETES_SERVICE_PORT).
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
    ]);
    let f = run(&["eks"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_eks"),
            ("host.id", "i-1234567890abcdef0"),
            ("cloud.availability_zone", "us-west-2b"),
            ("cloud.region", "us-west-2"),
            ("cloud.account.id", "123456789012"),
            ("host.image.id", "ami-5fb8c835"),
            ("host.type", "t2.micro"),
            ("host.name", "ip-10-158-112-84.us-west-2.compute.internal"),
        ],
    );
}

#[tokio::test]
async fn eks_on_another_kubernetes_contributes_nothing_and_an_api_error_is_an_error() {
    let other = FakeServer::start(vec![Route::get(
        "/version",
        r#"{"gitVersion":"v1.30.1+k3s1"}"#,
    )])
    .await;
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &other.url),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
    ]);
    assert!(
        run(&["eks"], &DetectorConfigs::default(), &set)
            .await
            .unwrap()
            .attributes
            .is_empty()
    );
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &closed_port_url()),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
    ]);
    let err = run(&["eks"], &DetectorConfigs::default(), &set)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("isEks() error retrieving cluster version"),
        "{err}"
    );
}

#[tokio::test]
async fn eks_without_imds_reads_the_node_provider_id() {
    let srv = FakeServer::start(vec![
        Route::get("/version", r#"{"gitVersion":"v1.31.0-eks-1234"}"#),
        Route::get(
            "/api/v1/nodes/ip-10-0-1-5",
            r#"{"spec":{"providerID":"aws:///eu-central-1b/i-0abc"}}"#,
        ),
    ])
    .await;
    let set = settings(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
        ("K8S_NODE_NAME", "ip-10-0-1-5"),
    ]);
    let f = run(&["eks"], &DetectorConfigs::default(), &set)
        .await
        .unwrap();
    expect(
        &f,
        &[
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_eks"),
            ("host.id", "i-0abc"),
            ("cloud.availability_zone", "eu-central-1b"),
            ("cloud.region", "eu-central-1"),
        ],
    );
}

#[test]
fn merge_respects_override() {
    let kv = |k: &str, v: &str| pdata::proto::common::v1::KeyValue {
        key: k.into(),
        value: Some(attrs::string(v.into())),
        ..Default::default()
    };
    let mut to = vec![kv("a", "old"), kv("b", "keep")];
    merge(&mut to, &[kv("a", "new"), kv("c", "add")], false);
    assert_eq!(to, vec![kv("a", "old"), kv("b", "keep"), kv("c", "add")]);
    merge(&mut to, &[kv("a", "new")], true);
    assert_eq!(to[0], kv("a", "new"));
}

#[test]
fn go_durations_parse() {
    assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
    assert_eq!(parse_go_duration("5x"), None);
}
