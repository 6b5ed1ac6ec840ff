//! The kubeadm example manifests in `examples/kubeadm/` against kubeadm's
//! kube-proxy addon (`cmd/kubeadm/app/phases/addons/proxy/manifests.go`):
//! every object parses as its Kubernetes type with no field lost (a
//! misspelled or misplaced field is an error), the DaemonSet is kubeadm's
//! with only the image changed, the ConfigMap's `config.conf` is
//! `examples/kubeadm/config.conf` byte for byte, and the RBAC binds the
//! kube-proxy ServiceAccount to `system:node-proxier`. The least-privilege
//! variant is the same DaemonSet with its container confined (only
//! `NET_ADMIN` and `NET_RAW`, read-only root filesystem, no privilege escalation,
//! RuntimeDefault seccomp) and two privileged init containers (`modprobe`,
//! then `--init-only`).

use std::{collections::BTreeMap, fs, path::PathBuf};

use k8s_openapi::api::{
    apps::v1::DaemonSet,
    core::v1::{ConfigMap, Container, PodSpec, ServiceAccount, Volume},
    rbac::v1::{ClusterRoleBinding, Role, RoleBinding},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// The service account files kubeadm's kubeconfig.conf points at.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kubeadm")
}

fn read(file: &str) -> String {
    fs::read_to_string(dir().join(file)).unwrap_or_else(|e| panic!("examples/kubeadm/{file}: {e}"))
}

/// The YAML documents of one example file, as JSON values.
fn documents(file: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(&read(file))
        .unwrap_or_else(|e| panic!("examples/kubeadm/{file}: {e}"))
}

/// The first path where `want` and `got` differ.
fn first_difference(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .find_map(|(k, v)| match g.get(k) {
                Some(gv) => first_difference(v, gv, &format!("{path}.{k}")),
                None => Some(format!("{path}.{k}")),
            })
            .or_else(|| {
                g.keys()
                    .find(|k| !w.contains_key(*k))
                    .map(|k| format!("{path}.{k}"))
            }),
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (wv, gv))| first_difference(wv, gv, &format!("{path}[{i}]"))),
        _ if want == got => None,
        _ => Some(path.to_owned()),
    }
}

/// `doc` as a `T`; it must serialize back to the same JSON, so a field the
/// type does not have (a typo, a field at the wrong level) is an error.
fn typed<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<T, String> {
    let object: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&object).map_err(|e| e.to_string())?;
    match first_difference(doc, &back, "") {
        None => Ok(object),
        Some(path) => Err(format!(
            "{path} is not a field of the type, or has the wrong form"
        )),
    }
}

/// The single object of `kind` in `file`.
fn one<T: DeserializeOwned + Serialize>(file: &str, kind: &str) -> T {
    let docs: Vec<Value> = documents(file)
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .collect();
    assert_eq!(docs.len(), 1, "examples/kubeadm/{file}: one {kind}");
    typed(&docs[0]).unwrap_or_else(|e| panic!("examples/kubeadm/{file}: {kind}: {e}"))
}

fn daemonset() -> DaemonSet {
    one("daemonset.yaml", "DaemonSet")
}

fn pod_spec(ds: &DaemonSet) -> PodSpec {
    ds.spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .expect("DaemonSet has a pod spec")
}

fn container(pod: &PodSpec) -> Container {
    assert_eq!(pod.containers.len(), 1, "one container");
    pod.containers[0].clone()
}

/// The volume mounted at `path` in the container.
fn volume_at(pod: &PodSpec, path: &str) -> (Volume, bool) {
    let mount = container(pod)
        .volume_mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.mount_path == path)
        .unwrap_or_else(|| panic!("no volume mounted at {path}"));
    let volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == mount.name)
        .unwrap_or_else(|| panic!("no volume {} for {path}", mount.name))
        .clone();
    (volume, mount.read_only.unwrap_or(false))
}

fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn every_object_parses_with_no_field_lost() {
    let mut names = Vec::new();
    for file in [
        "daemonset.yaml",
        "daemonset-least-privilege.yaml",
        "configmap.yaml",
        "rbac.yaml",
    ] {
        for doc in documents(file) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let checked = match kind.as_str() {
                "DaemonSet" => typed::<DaemonSet>(&doc).map(drop),
                "ConfigMap" => typed::<ConfigMap>(&doc).map(drop),
                "ServiceAccount" => typed::<ServiceAccount>(&doc).map(drop),
                "ClusterRoleBinding" => typed::<ClusterRoleBinding>(&doc).map(drop),
                "Role" => typed::<Role>(&doc).map(drop),
                "RoleBinding" => typed::<RoleBinding>(&doc).map(drop),
                other => Err(format!("unexpected kind {other:?}")),
            };
            checked.unwrap_or_else(|e| panic!("examples/kubeadm/{file}: {kind}: {e}"));
            names.push(format!(
                "{kind}/{}",
                doc["metadata"]["name"].as_str().unwrap_or("")
            ));
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "ClusterRoleBinding/kubeadm:node-proxier",
            "ConfigMap/kube-proxy",
            "DaemonSet/kube-proxy",
            "DaemonSet/kube-proxy",
            "Role/kube-proxy",
            "RoleBinding/kube-proxy",
            "ServiceAccount/kube-proxy",
        ]
    );
}

#[test]
fn a_misspelled_or_misplaced_field_is_caught() {
    let mut doc = documents("daemonset.yaml").remove(0);
    doc["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][2]["readonly"] = json!(true);
    let err = typed::<DaemonSet>(&doc).unwrap_err();
    assert!(
        err.contains(".spec.template.spec.containers[0].volumeMounts[2].readonly"),
        "{err}"
    );
    let mut doc = documents("daemonset.yaml").remove(0);
    doc["spec"]["hostNetwork"] = json!(true);
    assert!(
        typed::<DaemonSet>(&doc)
            .unwrap_err()
            .contains(".spec.hostNetwork")
    );
}

#[test]
fn daemonset_is_kubeadms_with_only_the_image_changed() {
    let ds = daemonset();
    assert_eq!(ds.metadata.namespace.as_deref(), Some("kube-system"));
    assert_eq!(ds.metadata.name.as_deref(), Some("kube-proxy"));
    assert_eq!(ds.metadata.labels, labels(&[("k8s-app", "kube-proxy")]));
    let spec = ds.spec.clone().expect("spec");
    assert_eq!(
        spec.selector.match_labels,
        labels(&[("k8s-app", "kube-proxy")])
    );
    assert_eq!(
        spec.template.metadata.and_then(|m| m.labels),
        labels(&[("k8s-app", "kube-proxy")])
    );
    assert_eq!(
        spec.update_strategy.and_then(|u| u.type_).as_deref(),
        Some("RollingUpdate")
    );

    let pod = pod_spec(&ds);
    assert_eq!(pod.host_network, Some(true));
    assert_eq!(
        pod.priority_class_name.as_deref(),
        Some("system-node-critical")
    );
    assert_eq!(pod.service_account_name.as_deref(), Some("kube-proxy"));
    let tolerations = serde_json::to_value(&pod.tolerations).unwrap();
    assert_eq!(tolerations, json!([{"operator": "Exists"}]));
    assert_eq!(pod.node_selector, labels(&[("kubernetes.io/os", "linux")]));

    let c = container(&pod);
    assert_eq!(c.name, "kube-proxy");
    assert_eq!(
        c.image.as_deref(),
        Some(format!("localhost/kube-ipvs-proxier:{}", env!("CARGO_PKG_VERSION")).as_str()),
        "the image image/build-oci.sh names by default"
    );
    assert_eq!(
        c.command.unwrap_or_default(),
        [
            "/usr/local/bin/kube-proxy",
            "--config=/var/lib/kube-proxy/config.conf",
            "--hostname-override=$(NODE_NAME)",
        ]
    );
    assert_eq!(c.args, None, "kubeadm passes everything in command");
    assert_eq!(c.security_context.and_then(|s| s.privileged), Some(true));
    let env = serde_json::to_value(&c.env).unwrap();
    assert_eq!(
        env,
        json!([{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}])
    );

    let (config, read_only) = volume_at(&pod, "/var/lib/kube-proxy");
    assert_eq!(
        config.config_map.map(|c| c.name),
        Some("kube-proxy".to_owned())
    );
    assert!(!read_only);
    let (lock, read_only) = volume_at(&pod, "/run/xtables.lock");
    let lock = lock.host_path.expect("xtables.lock is a hostPath");
    assert_eq!(
        (lock.path.as_str(), lock.type_.as_deref()),
        ("/run/xtables.lock", Some("FileOrCreate"))
    );
    assert!(!read_only, "iptables takes the lock read-write");
    let (modules, read_only) = volume_at(&pod, "/lib/modules");
    assert_eq!(
        modules.host_path.map(|h| h.path).as_deref(),
        Some("/lib/modules")
    );
    assert!(read_only);
}

/// The least-privilege DaemonSet.
fn least_privilege() -> DaemonSet {
    one("daemonset-least-privilege.yaml", "DaemonSet")
}

#[test]
fn least_privilege_is_kubeadms_but_for_the_security_context_and_init_containers() {
    let mut want = serde_json::to_value(daemonset()).unwrap();
    let mut got = serde_json::to_value(least_privilege()).unwrap();
    let pod = |v: &mut Value| v["spec"]["template"]["spec"].take();
    let (mut want_pod, mut got_pod) = (pod(&mut want), pod(&mut got));
    assert_eq!(want, got, "the DaemonSet around the pod spec");
    let pod_fields = got_pod.as_object_mut().unwrap();
    assert!(
        pod_fields
            .remove("initContainers")
            .is_some_and(|i| i.is_array())
    );
    for p in [&mut want_pod, &mut got_pod] {
        p["containers"][0]["securityContext"].take();
    }
    // The proxier itself loads no module: /lib/modules is the init
    // container's.
    let mounts = want_pod["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap();
    mounts.retain(|m| m["mountPath"] != "/lib/modules");
    assert_eq!(want_pod, got_pod, "the pod spec but for its security");
}

#[test]
fn least_privilege_container_holds_only_net_admin_and_net_raw() {
    let pod = pod_spec(&least_privilege());
    let c = container(&pod);
    let security = serde_json::to_value(c.security_context).unwrap();
    assert_eq!(
        security,
        json!({
            "privileged": false,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        })
    );
    let (lock, read_only) = volume_at(&pod, "/run/xtables.lock");
    assert!(
        lock.host_path.is_some() && !read_only,
        "the lock stays writable"
    );
    assert!(
        c.volume_mounts
            .unwrap_or_default()
            .iter()
            .all(|m| m.mount_path != "/lib/modules"),
        "no modules in the confined container"
    );
}

#[test]
fn least_privilege_init_containers_load_modules_and_set_sysctls() {
    let pod = pod_spec(&least_privilege());
    let main = container(&pod);
    let init = pod.init_containers.clone().unwrap_or_default();
    let names: Vec<&str> = init.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["modules", "init"],
        "modules first, then --init-only"
    );
    for c in &init {
        assert_eq!(c.image, main.image, "{}: the proxier's image", c.name);
        assert_eq!(
            c.security_context.as_ref().and_then(|s| s.privileged),
            Some(true),
            "{}: privileged",
            c.name
        );
    }
    let modprobe = init[0].command.clone().unwrap_or_default();
    assert_eq!(modprobe[..2], ["modprobe", "-a"]);
    for module in [
        "ip_vs",
        "ip_vs_rr",
        "nf_conntrack",
        "ip_set",
        "dummy",
        "xt_set",
    ] {
        assert!(modprobe.iter().any(|m| m == module), "modprobe {module}");
    }
    let modules = init[0].volume_mounts.clone().unwrap_or_default();
    assert!(
        modules
            .iter()
            .any(|m| m.mount_path == "/lib/modules" && m.read_only == Some(true))
    );
    let mut want = main.command.clone().unwrap_or_default();
    want.push("--init-only".to_owned());
    assert_eq!(init[1].command.clone().unwrap_or_default(), want);
    assert_eq!(init[1].env, main.env, "NODE_NAME for --hostname-override");
    assert_eq!(init[1].volume_mounts.as_ref().map(Vec::len), Some(1));
}

#[test]
fn configmap_config_conf_is_examples_config_conf() {
    let cm: ConfigMap = one("configmap.yaml", "ConfigMap");
    assert_eq!(cm.metadata.namespace.as_deref(), Some("kube-system"));
    assert_eq!(cm.metadata.name.as_deref(), Some("kube-proxy"));
    assert_eq!(cm.metadata.labels, labels(&[("app", "kube-proxy")]));
    let data = cm.data.unwrap_or_default();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["config.conf", "kubeconfig.conf"]
    );
    let file = read("config.conf");
    assert!(
        data["config.conf"] == file,
        "configmap.yaml's config.conf differs from examples/kubeadm/config.conf; regenerate its \
         block with: sed 's/^/    /' examples/kubeadm/config.conf"
    );

    // The DaemonSet's --config names this key under the ConfigMap's mount.
    let pod = pod_spec(&daemonset());
    let config_flag = container(&pod).command.unwrap_or_default()[1].clone();
    assert_eq!(config_flag, "--config=/var/lib/kube-proxy/config.conf");

    let config: Value = serde_saphyr::from_str(&file).expect("config.conf is YAML");
    assert_eq!(config["apiVersion"], "kubeproxy.config.k8s.io/v1alpha1");
    assert_eq!(config["kind"], "KubeProxyConfiguration");
    assert_eq!(config["mode"], "ipvs");
    assert_eq!(
        config["clientConnection"]["kubeconfig"], "/var/lib/kube-proxy/kubeconfig.conf",
        "the ConfigMap's kubeconfig.conf key, under the DaemonSet's mount"
    );
}

#[test]
fn configmap_kubeconfig_uses_the_service_account() {
    let cm: ConfigMap = one("configmap.yaml", "ConfigMap");
    let text = cm.data.unwrap_or_default()["kubeconfig.conf"].clone();
    let kc: Value = serde_saphyr::from_str(&text).expect("kubeconfig.conf is YAML");
    assert_eq!(kc["kind"], "Config");
    let current = kc["current-context"].as_str().expect("current-context");
    let named = |list: &str, name: &str| -> Value {
        kc[list]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["name"] == name))
            .unwrap_or_else(|| panic!("kubeconfig.conf: no {list} entry {name:?}"))
            .clone()
    };
    let context = named("contexts", current)["context"].clone();
    let cluster = named("clusters", context["cluster"].as_str().unwrap())["cluster"].clone();
    let user = named("users", context["user"].as_str().unwrap())["user"].clone();
    assert_eq!(cluster["certificate-authority"], format!("{SA_DIR}/ca.crt"));
    assert!(
        cluster["server"]
            .as_str()
            .unwrap_or("")
            .starts_with("https://")
    );
    assert_eq!(user["tokenFile"], format!("{SA_DIR}/token"));
}

#[test]
fn rbac_binds_kube_proxy_to_system_node_proxier() {
    let sa: ServiceAccount = one("rbac.yaml", "ServiceAccount");
    assert_eq!(sa.metadata.namespace.as_deref(), Some("kube-system"));
    assert_eq!(
        sa.metadata.name,
        pod_spec(&daemonset()).service_account_name
    );

    let crb: ClusterRoleBinding = one("rbac.yaml", "ClusterRoleBinding");
    assert_eq!(crb.metadata.name.as_deref(), Some("kubeadm:node-proxier"));
    assert_eq!(
        (
            crb.role_ref.api_group.as_str(),
            crb.role_ref.kind.as_str(),
            crb.role_ref.name.as_str()
        ),
        (
            "rbac.authorization.k8s.io",
            "ClusterRole",
            "system:node-proxier"
        )
    );
    let subjects = crb.subjects.unwrap_or_default();
    assert_eq!(subjects.len(), 1);
    assert_eq!(
        (
            subjects[0].kind.as_str(),
            subjects[0].name.as_str(),
            subjects[0].namespace.as_deref()
        ),
        ("ServiceAccount", "kube-proxy", Some("kube-system"))
    );

    // kubeadm join reads the ConfigMap with a bootstrap token.
    let role: Role = one("rbac.yaml", "Role");
    let rules = serde_json::to_value(&role.rules).unwrap();
    assert_eq!(
        rules,
        json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kube-proxy"], "verbs": ["get"]}])
    );
    let rb: RoleBinding = one("rbac.yaml", "RoleBinding");
    assert_eq!(rb.role_ref.name, "kube-proxy");
    let subjects = rb.subjects.unwrap_or_default();
    assert_eq!(
        subjects
            .iter()
            .map(|s| (s.kind.as_str(), s.name.as_str()))
            .collect::<Vec<_>>(),
        [("Group", "system:bootstrappers:kubeadm:default-node-token")]
    );
}
