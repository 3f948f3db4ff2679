//! The query root and the `Connector` node.

use std::sync::Arc;

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};

use super::{Needs, OrGraphql as _, bad_cursor, first, seq_after, who};
use crate::api::ApiError;
use crate::auth::Scope;
use crate::bus::MessageView;
use crate::registry::{
    AuditView, ConnectorDetail, ConnectorView, DeploymentView, EventStatusView, Heartbeats,
    ListQuery, PageDetails, PollRecord, QuarantinedView, SdkManifest, Summary, VersionView,
};

/// The query root.
#[derive(Debug, Default)]
pub struct Query;

/// Filters of the catalogue; every one given must match.
#[derive(Debug, Default, InputObject)]
pub struct ConnectorFilter {
    /// Only this category (`osint`, `financial`, `social`, `dark-web`, `telemetry`,
    /// `custom`).
    pub category: Option<String>,
    /// Only this status (`registered`, `active`, `degraded`, `error`, `disabled`).
    pub status: Option<String>,
    /// Only connectors declaring this capability.
    pub capability: Option<String>,
    /// Only connectors declaring this output standard (`stix-2.1`, …).
    pub output_standard: Option<String>,
    /// Only connectors whose name or description holds this text (any case).
    pub search: Option<String>,
}

/// What a page of a list counts in all.
#[derive(Debug, SimpleObject)]
pub struct TotalCount {
    /// Items matching, across every page.
    pub total_count: usize,
}

/// A connector: the catalogue view, what it was registered with, its versions,
/// deployments, heartbeats and quarantine. Beyond the catalogue view, each field
/// needs `connectors:read` itself: a mutation (`disableConnector`, which needs
/// only `connectors:manage`) answers a `Connector` too.
#[derive(Debug, SimpleObject)]
#[graphql(complex)]
pub struct Connector {
    #[graphql(flatten)]
    view: ConnectorView,
    #[graphql(skip)]
    details: tokio::sync::OnceCell<Arc<Details>>,
}

/// What the catalogue view lacks, fetched for a page at once or for one connector.
#[derive(Debug, Default)]
struct Details {
    versions: Vec<VersionView>,
    deployments: Vec<DeploymentView>,
    webhook_url: Option<String>,
    auth_method: Option<String>,
    disabled_reason: Option<String>,
}

impl Details {
    fn of_page(page: &mut PageDetails, id: &str) -> Details {
        let row = page.rows.remove(id);
        Details {
            versions: page.versions.remove(id).unwrap_or_default(),
            deployments: page.deployments.remove(id).unwrap_or_default(),
            webhook_url: row.as_ref().and_then(|r| r.webhook_url.clone()),
            auth_method: row.as_ref().and_then(|r| r.auth_method.clone()),
            disabled_reason: row.and_then(|r| r.disabled_reason),
        }
    }
}

impl Connector {
    /// A connector whose details are fetched when a field asks for them.
    pub(crate) fn lazy(view: ConnectorView) -> Connector {
        Connector {
            view,
            details: tokio::sync::OnceCell::new(),
        }
    }

    fn with(view: ConnectorView, details: Details) -> Connector {
        Connector {
            view,
            details: tokio::sync::OnceCell::new_with(Some(Arc::new(details))),
        }
    }

    fn of_detail(d: ConnectorDetail) -> Connector {
        Connector::with(
            d.view,
            Details {
                versions: d.versions,
                deployments: d.deployments,
                webhook_url: d.webhook_url,
                auth_method: d.auth_method,
                disabled_reason: d.disabled_reason,
            },
        )
    }

    async fn details(&self, ctx: &Context<'_>) -> async_graphql::Result<&Arc<Details>> {
        let (p, s) = who(ctx)?;
        self.details
            .get_or_try_init(|| async {
                let mut page = s
                    .registry
                    .page_details(&p.tenant_id, &[self.view.id.as_str()])
                    .await
                    .gql()?;
                Ok::<_, async_graphql::Error>(Arc::new(Details::of_page(&mut page, &self.view.id)))
            })
            .await
    }
}

#[ComplexObject]
impl Connector {
    /// Where the external system lives (push connectors), as registered.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn webhook_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.details(ctx).await?.webhook_url.clone())
    }

    /// A push connector's authentication method.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn auth_method(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.details(ctx).await?.auth_method.clone())
    }

    /// The reason it was disabled, while it is.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn disabled_reason(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.details(ctx).await?.disabled_reason.clone())
    }

    /// Every uploaded version, oldest first.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<VersionView>> {
        Ok(self.details(ctx).await?.versions.clone())
    }

    /// Its deployments, each with its newest poll.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn deployments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeploymentView>> {
        Ok(self.details(ctx).await?.deployments.clone())
    }

    /// The newest `last` heartbeats (1–200, default 20), newest first, with counts
    /// and latency percentiles over them.
    #[graphql(
        guard = "Needs(Scope::ConnectorsRead)",
        complexity = "last.unwrap_or(20).clamp(1, 200) as usize * child_complexity"
    )]
    async fn heartbeats(
        &self,
        ctx: &Context<'_>,
        last: Option<i32>,
    ) -> async_graphql::Result<Heartbeats> {
        let n = first(last, 20)?;
        let (p, s) = who(ctx)?;
        s.registry
            .heartbeats(&p.tenant_id, &self.view.id, n as i64)
            .await
            .gql()
    }

    /// Outputs quarantined for failing validation, newest first, with the
    /// validator's report.
    #[graphql(
        guard = "Needs(Scope::ConnectorsRead)",
        complexity = "first.unwrap_or(20).clamp(1, 200) as usize * child_complexity"
    )]
    async fn quarantine(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<usize, QuarantinedView, TotalCount>> {
        let n = super::first(first, 20)?;
        let start = start_after(after.as_deref())?;
        let (p, s) = who(ctx)?;
        let page = s
            .registry
            .quarantined(&p.tenant_id, &self.view.id, n as i64, start as i64)
            .await
            .gql()?;
        let total = usize::try_from(page.total).unwrap_or(0);
        let mut c = Connection::with_additional_fields(
            start > 0,
            start + page.items.len() < total,
            TotalCount { total_count: total },
        );
        c.edges.extend(
            page.items
                .into_iter()
                .enumerate()
                .map(|(i, q)| Edge::new(start + i, q)),
        );
        Ok(c)
    }

    /// The polls of one deployment, newest first (`last`: 1–200, default 20).
    #[graphql(
        guard = "Needs(Scope::ConnectorsRead)",
        complexity = "last.unwrap_or(20).clamp(1, 200) as usize * child_complexity"
    )]
    async fn polls(
        &self,
        ctx: &Context<'_>,
        target: String,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<PollRecord>> {
        let n = first(last, 20)?;
        let (p, s) = who(ctx)?;
        Ok(s.registry
            .polls(&p.tenant_id, &self.view.id, &target, n as i64)
            .await
            .gql()?
            .items)
    }

    /// A pushed event as it stands (needs `events:read`).
    #[graphql(guard = "Needs(Scope::EventsRead)")]
    async fn event(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<EventStatusView> {
        let (p, s) = who(ctx)?;
        s.registry
            .event_status(&p.tenant_id, &self.view.id, &id)
            .await
            .gql()
    }
}

/// The offset after cursor `after` (0 without one).
fn start_after(after: Option<&str>) -> async_graphql::Result<usize> {
    match after {
        None => Ok(0),
        // Offsets past i64::MAX are no cursor this server gave.
        Some(c) => usize::decode_cursor(c)
            .ok()
            .filter(|n| i64::try_from(*n).is_ok_and(|n| n < i64::MAX / 2))
            .map(|n| n + 1)
            .ok_or_else(bad_cursor),
    }
}

#[Object]
impl Query {
    /// The catalogue: the tenant's connectors, filtered, a page at a time (`first`:
    /// 1–200, default 50). A page's versions, deployments and registration fields
    /// are fetched in a fixed number of queries, not one per connector.
    #[graphql(
        guard = "Needs(Scope::ConnectorsRead)",
        complexity = "first.unwrap_or(50).clamp(1, 200) as usize * child_complexity"
    )]
    async fn connectors(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConnectorFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<usize, Connector, TotalCount>> {
        let n = super::first(first, 50)?;
        let start = start_after(after.as_deref())?;
        let (p, s) = who(ctx)?;
        let f = filter.unwrap_or_default();
        let q = ListQuery {
            category: f.category,
            status: f.status,
            capability: f.capability,
            output_standard: f.output_standard,
            search: f.search,
            limit: Some(n),
            offset: Some(start),
        };
        let page = s.registry.list(&p.tenant_id, &q).await.gql()?;
        let look = ctx.look_ahead();
        let asks = |name: &str| {
            look.field("edges").field("node").field(name).exists()
                || look.field("nodes").field(name).exists()
        };
        let wanted = [
            "versions",
            "deployments",
            "webhookUrl",
            "authMethod",
            "disabledReason",
        ]
        .iter()
        .any(|f| asks(f));
        let mut details = if wanted && !page.items.is_empty() {
            let ids: Vec<&str> = page.items.iter().map(|v| v.id.as_str()).collect();
            Some(s.registry.page_details(&p.tenant_id, &ids).await.gql()?)
        } else {
            None
        };
        let mut c = Connection::with_additional_fields(
            start > 0,
            start + page.items.len() < page.total,
            TotalCount {
                total_count: page.total,
            },
        );
        for (i, view) in page.items.into_iter().enumerate() {
            let node = match details.as_mut() {
                Some(d) => {
                    let mine = Details::of_page(d, &view.id);
                    Connector::with(view, mine)
                }
                None => Connector::lazy(view),
            };
            c.edges.push(Edge::new(start + i, node));
        }
        Ok(c)
    }

    /// One connector of the tenant (`not_found` for an unknown or foreign id).
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn connector(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Connector> {
        let (p, s) = who(ctx)?;
        Ok(Connector::of_detail(
            s.registry.get(&p.tenant_id, &id).await.gql()?,
        ))
    }

    /// Counts per status, in all and per category.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn registry_summary(&self, ctx: &Context<'_>) -> async_graphql::Result<Summary> {
        let (p, s) = who(ctx)?;
        s.registry.summary(&p.tenant_id).await.gql()
    }

    /// What a connector developer needs: the contract, categories, standards,
    /// schemas, quickstarts and example configs from this tenant.
    #[graphql(guard = "Needs(Scope::ConnectorsRead)")]
    async fn sdk_manifest(&self, ctx: &Context<'_>) -> async_graphql::Result<SdkManifest> {
        let (p, s) = who(ctx)?;
        s.registry.sdk_manifest(&p.tenant_id).await.gql()
    }

    /// The tenant's audit trail, oldest first (`first`: 1–200, default 100); only
    /// the entries about `target` (a connector's id, a client's id…) when given.
    #[graphql(
        guard = "Needs(Scope::AuditRead)",
        complexity = "first.unwrap_or(100).clamp(1, 200) as usize * child_complexity"
    )]
    async fn audit(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        target: Option<String>,
    ) -> async_graphql::Result<Connection<i64, AuditView>> {
        let n = super::first(first, 100)?;
        let after = seq_after(after.as_deref())?;
        let (p, s) = who(ctx)?;
        let mut page = s
            .registry
            .audit_trail(&p.tenant_id, after, n as i64 + 1, target.as_deref(), false)
            .await
            .gql()?;
        let more = page.items.len() > n;
        page.items.truncate(n);
        let mut c = Connection::new(after > 0, more);
        c.edges
            .extend(page.items.into_iter().map(|a| Edge::new(a.seq, a)));
        Ok(c)
    }

    /// Published messages of the tenant, oldest first: of one topic
    /// (`<prefix>.<tenant>.<event type>` or `<prefix>.<tenant>.*`) and one connector
    /// when given (`first`: 1–200, default 100).
    #[graphql(
        guard = "Needs(Scope::EventsRead)",
        complexity = "first.unwrap_or(100).clamp(1, 200) as usize * child_complexity"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        topic: Option<String>,
        connector: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<i64, MessageView>> {
        let n = super::first(first, 100)?;
        let after = seq_after(after.as_deref())?;
        let (p, s) = who(ctx)?;
        let selection = crate::api::events::selection(
            s,
            &p.tenant_id,
            topic.as_deref(),
            connector.as_ref().map(|c| c.0.as_str()),
        )
        .await
        .map_err(ApiError::into_graphql)?;
        let mut rows = s.bus.history(&selection, after, n as i64 + 1).await.gql()?;
        let more = rows.len() > n;
        rows.truncate(n);
        let mut c = Connection::new(after > 0, more);
        c.edges
            .extend(rows.iter().map(|m| Edge::new(m.seq, MessageView::of(m))));
        Ok(c)
    }
}
