//! Which Services and EndpointSlices are this proxy's: kube-proxy's label
//! selector `!service.kubernetes.io/service-proxy-name,
//! !service.kubernetes.io/headless`, which kube-proxy (through 1.34) put
//! on one informer factory for both kinds. The API watchers send
//! [`LABEL_SELECTOR`]; [`selected`] applies the same rule to objects that
//! did not come through it (manifests, a server that ignored it).

use crate::source::objects::Labels;

/// Objects with this label belong to another proxy.
pub const SERVICE_PROXY_NAME_LABEL: &str = "service.kubernetes.io/service-proxy-name";

/// Objects with this label are not proxied (the EndpointSlice controller
/// puts it on the slices of headless Services).
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The label selector of the Service and EndpointSlice watches.
pub const LABEL_SELECTOR: &str =
    "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless";

/// Whether an object with these labels passes [`LABEL_SELECTOR`]: it has
/// neither label, whatever their values (even empty).
pub fn selected(labels: Option<&Labels>) -> bool {
    labels.is_none_or(|l| {
        !l.contains_key(SERVICE_PROXY_NAME_LABEL) && !l.contains_key(HEADLESS_LABEL)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn either_label_deselects_whatever_its_value() {
        assert!(selected(None));
        assert!(selected(Some(&labels(&[("app", "web")]))));
        assert!(!selected(Some(&labels(&[(
            SERVICE_PROXY_NAME_LABEL,
            "other"
        )]))));
        assert!(!selected(Some(&labels(&[(SERVICE_PROXY_NAME_LABEL, "")]))));
        assert!(!selected(Some(&labels(&[(HEADLESS_LABEL, "")]))));
        assert!(!selected(Some(&labels(&[
            ("app", "web"),
            (HEADLESS_LABEL, "x")
        ]))));
    }

    #[test]
    fn the_selector_names_both_labels() {
        assert_eq!(
            LABEL_SELECTOR,
            format!("!{SERVICE_PROXY_NAME_LABEL},!{HEADLESS_LABEL}")
        );
    }
}
