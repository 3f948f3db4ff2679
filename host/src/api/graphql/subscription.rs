//! The subscription root: published messages as they come, and connectors'
//! status changes. Each stream ends when the token it was opened with expires.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, SimpleObject, Subscription as SubscriptionRoot};
use futures_util::stream::{Stream, StreamExt as _};

use super::{Needs, OrGraphql as _, seq_after, stream_slot, until_expiry, who};
use crate::api::ApiError;
use crate::auth::Scope;
use crate::bus::MessageView;
use crate::registry::{ConnectorView, Registry};

/// The subscription root.
#[derive(Debug, Default)]
pub struct Subscription;

/// How often a status watcher looks at the catalogue: statuses are derived from
/// heartbeats any node may record, so the database is the one place to look.
const STATUS_LOOK: Duration = Duration::from_secs(1);

/// A connector whose status changed.
#[derive(Debug, Clone, SimpleObject)]
pub struct StatusChange {
    /// The connector as the catalogue shows it now.
    pub connector: ConnectorView,
    /// Its status before (`null` for a connector registered since the watch began).
    pub previous: Option<String>,
    /// When the change was seen (RFC 3339 UTC).
    pub seen_at: String,
}

#[SubscriptionRoot]
impl Subscription {
    /// Messages published from now on (or after the `after` cursor, to resume):
    /// of one topic and one connector when given, always inside the caller's
    /// tenant.
    #[graphql(guard = "Needs(Scope::EventsRead)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        topic: Option<String>,
        connector: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<MessageView>> + use<>> {
        let (p, s) = who(ctx)?;
        let selection = crate::api::events::selection(
            s,
            &p.tenant_id,
            topic.as_deref(),
            connector.as_ref().map(|c| c.0.as_str()),
        )
        .await
        .map_err(ApiError::into_graphql)?;
        let resume = match after {
            Some(a) => Some(seq_after(Some(&a))?),
            None => None,
        };
        let slot = stream_slot(ctx)?;
        let messages = s.bus.subscribe(selection, resume).await.gql()?;
        let messages = messages.map(move |m| {
            let _held = &slot;
            m.map(|row| MessageView::of(&row)).gql()
        });
        Ok(until_expiry(messages, p.expires_at))
    }

    /// Each change of a connector's status (of one connector when `id` is given).
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn connector_status_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = StatusChange> + use<>> {
        let (p, s) = who(ctx)?;
        if let Some(id) = &id {
            s.registry.exists(&p.tenant_id, id).await.gql()?;
        }
        let slot = stream_slot(ctx)?;
        let watch = Watch {
            registry: s.registry.clone(),
            tenant: p.tenant_id.clone(),
            only: id.map(|i| i.0),
            seen: None,
            pending: VecDeque::new(),
        };
        let changes = futures_util::stream::unfold(watch, Watch::next).map(move |c| {
            let _held = &slot;
            c
        });
        Ok(until_expiry(changes, p.expires_at))
    }
}

/// What a status watcher remembers between two looks.
struct Watch {
    registry: Arc<Registry>,
    tenant: String,
    only: Option<String>,
    /// Each connector's status at the last look (`None` before the first).
    seen: Option<HashMap<String, String>>,
    pending: VecDeque<StatusChange>,
}

impl Watch {
    async fn next(mut self) -> Option<(StatusChange, Watch)> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Some((change, self));
            }
            if self.seen.is_some() {
                tokio::time::sleep(STATUS_LOOK).await;
            }
            let views = match self.registry.catalogue(&self.tenant).await {
                Ok(v) => v,
                Err(e) => {
                    // The stream ends; the client subscribes again.
                    tracing::warn!(error = %e, "a status watch could not read the catalogue");
                    return None;
                }
            };
            let now: HashMap<String, String> = views
                .iter()
                .map(|v| (v.id.clone(), v.status.clone()))
                .collect();
            if let Some(seen) = &self.seen {
                let at = crate::time::rfc3339(crate::time::now_ms());
                for v in views {
                    if self.only.as_ref().is_some_and(|id| *id != v.id) {
                        continue;
                    }
                    let before = seen.get(&v.id);
                    if before != Some(&v.status) {
                        self.pending.push_back(StatusChange {
                            previous: before.cloned(),
                            connector: v,
                            seen_at: at.clone(),
                        });
                    }
                }
            }
            self.seen = Some(now);
        }
    }
}
