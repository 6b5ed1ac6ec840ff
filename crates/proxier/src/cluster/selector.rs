//! Which Services and EndpointSlices are this proxy's: kube-proxy's (1.35)
//! label selectors, one per kind: Services
//! `!service.kubernetes.io/service-proxy-name` ([`SERVICE_SELECTOR`]),
//! EndpointSlices `!service.kubernetes.io/headless` ([`SLICE_SELECTOR`]).
//! (Through 1.34 kube-proxy put both on one informer factory for both
//! kinds.) The API watchers send them; [`service_selected`] and
//! [`slice_selected`] apply the same rules to objects that did not come
//! through them (manifests, a server that ignored them).

use super::objects::Labels;

/// Services with this label belong to another proxy.
pub const SERVICE_PROXY_NAME_LABEL: &str = "service.kubernetes.io/service-proxy-name";

/// EndpointSlices with this label are not proxied (the EndpointSlice
/// controller puts it on the slices of headless Services).
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The label selector of the Service watch.
pub const SERVICE_SELECTOR: &str = "!service.kubernetes.io/service-proxy-name";

/// The label selector of the EndpointSlice watch.
pub const SLICE_SELECTOR: &str = "!service.kubernetes.io/headless";

/// Whether a Service with these labels passes [`SERVICE_SELECTOR`]: it
/// has no [`SERVICE_PROXY_NAME_LABEL`], whatever its value (even empty).
pub fn service_selected(labels: Option<&Labels>) -> bool {
    labels.is_none_or(|l| !l.contains_key(SERVICE_PROXY_NAME_LABEL))
}

/// Whether an EndpointSlice with these labels passes [`SLICE_SELECTOR`]:
/// it has no [`HEADLESS_LABEL`], whatever its value (even empty).
pub fn slice_selected(labels: Option<&Labels>) -> bool {
    labels.is_none_or(|l| !l.contains_key(HEADLESS_LABEL))
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
    fn each_kind_has_its_label_whatever_its_value() {
        for selected in [service_selected, slice_selected] {
            assert!(selected(None));
            assert!(selected(Some(&labels(&[("app", "web")]))));
        }
        let proxy_name = labels(&[(SERVICE_PROXY_NAME_LABEL, "")]);
        let headless = labels(&[("app", "web"), (HEADLESS_LABEL, "")]);
        assert!(!service_selected(Some(&labels(&[(
            SERVICE_PROXY_NAME_LABEL,
            "other"
        )]))));
        assert!(!service_selected(Some(&proxy_name)));
        assert!(!slice_selected(Some(&headless)));
        // kube-proxy 1.35: each watch has only its own label.
        assert!(service_selected(Some(&headless)));
        assert!(slice_selected(Some(&proxy_name)));
    }

    #[test]
    fn the_selectors_name_the_labels() {
        assert_eq!(SERVICE_SELECTOR, format!("!{SERVICE_PROXY_NAME_LABEL}"));
        assert_eq!(SLICE_SELECTOR, format!("!{HEADLESS_LABEL}"));
    }
}
