//! Topic names and the filters readers give.

/// Why a topic filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The filter is not `<prefix>.<tenant_id>.<event type or wildcard>`.
    #[error("{0}")]
    Malformed(String),
    /// A wildcard where the tenant goes: subscriptions stay inside one tenant.
    #[error(
        "wildcards may stand only for the event type: write `{prefix}.<your tenant id>.*` \
         (subscriptions never span tenants)"
    )]
    TenantWildcard {
        /// The bus's prefix.
        prefix: String,
    },
    /// The topic belongs to another tenant (or none): answered like a missing one.
    #[error("no such topic in your tenant")]
    Foreign,
}

/// The bus's topic scheme: `<prefix>.<tenant_id>.<event_type>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
}

fn token_ok(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            prefix: "airlock".into(),
        }
    }
}

impl Topics {
    /// A scheme with `prefix`: one or more tokens of letters, digits, `-` and `_`
    /// joined by dots.
    pub fn new(prefix: &str) -> Result<Topics, String> {
        if prefix.split('.').all(token_ok) {
            Ok(Topics {
                prefix: prefix.into(),
            })
        } else {
            Err(format!(
                "bus prefix `{prefix}`: use dot-separated tokens of letters, digits, `-` and `_` \
                 (no wildcards)"
            ))
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The topic of `event_type` in `tenant_id`.
    pub fn topic(&self, tenant_id: &str, event_type: &str) -> String {
        format!("{}.{tenant_id}.{event_type}", self.prefix)
    }

    /// Reads a reader's filter: `Ok(None)` selects every event type of the tenant
    /// (`<prefix>.<tenant>.*` or `.>`), `Ok(Some(t))` one type.
    pub fn filter(&self, topic: &str, tenant_id: &str) -> Result<Option<String>, TopicError> {
        let shape = || {
            TopicError::Malformed(format!(
                "topic `{topic}` is not `{}.<tenant id>.<event type>` (event type one of stix, \
                 cap, ais, niem, stanag-4607, json, or `*` for all)",
                self.prefix
            ))
        };
        let rest = topic
            .strip_prefix(self.prefix.as_str())
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(shape)?;
        let mut tokens = rest.split('.');
        let tenant = tokens.next().ok_or_else(shape)?;
        if tenant == "*" || tenant == ">" {
            return Err(TopicError::TenantWildcard {
                prefix: self.prefix.clone(),
            });
        }
        let event_type = tokens.next().ok_or_else(shape)?;
        if tokens.next().is_some() || !token_ok(tenant) {
            return Err(shape());
        }
        if tenant != tenant_id {
            return Err(TopicError::Foreign);
        }
        match event_type {
            "*" | ">" => Ok(None),
            t if token_ok(t) => Ok(Some(t.to_string())),
            _ => Err(shape()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn filters_stay_inside_the_callers_tenant() {
        let t = Topics::default();
        assert_eq!(t.filter("airlock.t1.stix", "t1"), Ok(Some("stix".into())));
        assert_eq!(t.filter("airlock.t1.*", "t1"), Ok(None));
        assert_eq!(t.filter("airlock.t1.>", "t1"), Ok(None));
        assert_eq!(t.filter("airlock.t2.stix", "t1"), Err(TopicError::Foreign));
        assert!(matches!(
            t.filter("airlock.*.stix", "t1"),
            Err(TopicError::TenantWildcard { .. })
        ));
        assert!(matches!(
            t.filter("airlock.>", "t1"),
            Err(TopicError::TenantWildcard { .. })
        ));
        for bad in [
            "other.t1.stix",
            "airlock.t1",
            "airlock.t1.stix.x",
            "airlockx.t1.stix",
            "airlock.t1.st ix",
            "",
        ] {
            assert!(
                matches!(t.filter(bad, "t1"), Err(TopicError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prefixes_are_subject_tokens() {
        assert!(Topics::new("acme.prod").is_ok());
        for bad in ["", "a..b", "a.*", "a b", "a.>"] {
            assert!(Topics::new(bad).is_err(), "{bad}");
        }
        let t = Topics::new("acme.prod").unwrap();
        assert_eq!(
            t.topic("t1", crate::vocab::Standard::Stix21.event_type()),
            "acme.prod.t1.stix"
        );
        assert_eq!(t.filter("acme.prod.t1.cap", "t1"), Ok(Some("cap".into())));
    }
}
