//! `chat-notifier`: an Airlock action connector that posts chat messages and opens
//! tickets, in the style of Slack's `chat.postMessage` and Jira's issue API.
//!
//! - `post-message` sends `{channel, text, thread_ts?}` to `{chat_api_base}/chat.postMessage`.
//!   The host adds `Authorization: Bearer <chat_token>` (declared as a credential for
//!   `https://slack.com`), so the connector never sees the token.
//! - `create-ticket` sends `{summary, description?, priority?, labels?}` to
//!   `{ticket_base_url}/rest/api/2/issue` in the configured project. The host adds
//!   HTTP Basic auth from `ticket_user` and `ticket_api_token` for `https://*.atlassian.net`.
//!
//! Rate limits and retries, through [`airlock_sdk::http::Client`]: a 429 is retried
//! after its `Retry-After` (up to 4 attempts; a wait beyond 30 s is returned to the
//! host as `rate-limited` with the wait, so the host reschedules instead of holding a
//! sandbox); a 503 is retried with backoff; other 5xx answers to these POSTs are not
//! retried, because the message or ticket may already exist — the error says so.
//! A chat API answer of `{"ok": false, "error": …}` is an upstream error naming the
//! code; `ratelimited` in that form is treated as a rate limit.

use airlock_sdk::http::{Client, Request, Response, RetryPolicy};
use airlock_sdk::log;
use airlock_sdk::prelude::*;
use serde::Deserialize;

/// The connector.
#[derive(Debug, Default)]
pub struct ChatNotifier;

/// The deployment config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the chat API, default `https://slack.com/api`.
    #[serde(default = "default_chat_api")]
    pub chat_api_base: String,
    /// The channel used when a message names none.
    pub default_channel: Option<String>,
    /// Base URL of the ticketing site, e.g. `https://example.atlassian.net`.
    pub ticket_base_url: Option<String>,
    /// The project tickets are created in, e.g. `OPS`.
    pub ticket_project: Option<String>,
    /// The issue type of created tickets, default `Task`.
    #[serde(default = "default_issue_type")]
    pub issue_type: String,
}

fn default_chat_api() -> String {
    "https://slack.com/api".into()
}
fn default_issue_type() -> String {
    "Task".into()
}

#[derive(Debug, Deserialize)]
struct PostMessage {
    channel: Option<String>,
    text: String,
    thread_ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CreateTicket {
    summary: String,
    description: Option<String>,
    priority: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

fn client() -> Client {
    Client::with_policy(RetryPolicy::default())
}

fn parse_input<T: for<'de> Deserialize<'de>>(input: Value) -> Result<T> {
    serde_json::from_value(input)
        .map_err(|e| Error::invalid_input(format!("the input does not fit: {e}")))
}

fn upstream_failure(service: &str, resp: &Response) -> Error {
    let detail: String = resp.text().chars().take(200).collect();
    let advice = match resp.status {
        401 | 403 => " (check the deployment's credentials)",
        500..=599 => " (not retried: the request may already have taken effect)",
        _ => "",
    };
    Error::upstream(
        Some(resp.status),
        format!("{service} answered HTTP {}{advice}: {detail}", resp.status),
    )
}

impl ChatNotifier {
    fn post_message(config: &Config, input: PostMessage) -> Result<Vec<Output>> {
        let channel = input
            .channel
            .or_else(|| config.default_channel.clone())
            .ok_or_else(|| {
                Error::invalid_input("no `channel` given and the config has no `default_channel`")
            })?;
        let mut body = json!({ "channel": channel, "text": input.text });
        if let Some(ts) = input.thread_ts {
            body["thread_ts"] = json!(ts);
        }
        let url = format!(
            "{}/chat.postMessage",
            config.chat_api_base.trim_end_matches('/')
        );
        let resp = client().send(&Request::post(url).json(&body)?)?;
        if !resp.is_success() {
            return Err(upstream_failure("the chat API", &resp));
        }
        let answer: Value = resp.json()?;
        if answer.get("ok") != Some(&Value::Bool(true)) {
            let code = answer
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error");
            if code == "ratelimited" {
                return Err(Error::rate_limited(
                    60_000,
                    "the chat API reported `ratelimited`",
                ));
            }
            return Err(Error::upstream(
                Some(resp.status),
                format!("the chat API refused the message: {code}"),
            ));
        }
        let ts = answer.get("ts").cloned().unwrap_or(Value::Null);
        log::info("message posted");
        Ok(vec![Output::json(
            &json!({ "channel": channel, "ts": ts }),
        )?])
    }

    fn create_ticket(config: &Config, input: CreateTicket) -> Result<Vec<Output>> {
        let (Some(base), Some(project)) = (&config.ticket_base_url, &config.ticket_project) else {
            return Err(Error::invalid_config(
                "create-ticket needs `ticket_base_url` and `ticket_project` in the config",
            ));
        };
        let mut fields = json!({
            "project": { "key": project },
            "summary": input.summary,
            "issuetype": { "name": config.issue_type },
        });
        if let Some(d) = input.description {
            fields["description"] = json!(d);
        }
        if let Some(p) = input.priority {
            fields["priority"] = json!({ "name": p });
        }
        if !input.labels.is_empty() {
            fields["labels"] = json!(input.labels);
        }
        let base = base.trim_end_matches('/');
        let resp = client().send(
            &Request::post(format!("{base}/rest/api/2/issue"))
                .json(&json!({ "fields": fields }))?,
        )?;
        if !resp.is_success() {
            return Err(upstream_failure("the ticketing API", &resp));
        }
        let answer: Value = resp.json()?;
        let key = answer.get("key").and_then(Value::as_str).ok_or_else(|| {
            Error::upstream(
                Some(resp.status),
                "the ticketing API answered without an issue key",
            )
        })?;
        Ok(vec![Output::json(&json!({
            "key": key,
            "id": answer.get("id").cloned().unwrap_or(Value::Null),
            "url": format!("{base}/browse/{key}"),
        }))?])
    }
}

impl Connector for ChatNotifier {
    fn describe(&self) -> Manifest {
        Manifest::builder("chat-notifier", "Chat and ticket notifier", env!("CARGO_PKG_VERSION"))
            .vendor("Airlock examples")
            .description(
                "Posts messages to a Slack-compatible chat API and opens Jira-compatible tickets. \
                 Credentials are injected by the host; 429s are retried after Retry-After.",
            )
            .category(Category::Custom)
            .capability("notify")
            .capability("ticketing")
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "chat_api_base": { "type": "string", "format": "uri", "default": "https://slack.com/api",
                                       "description": "Base URL of the chat API." },
                    "default_channel": { "type": "string", "minLength": 1,
                                         "description": "Channel used when a message names none." },
                    "ticket_base_url": { "type": "string", "format": "uri",
                                         "description": "Ticketing site, e.g. https://example.atlassian.net" },
                    "ticket_project": { "type": "string", "pattern": "^[A-Z][A-Z0-9_]{1,9}$",
                                        "description": "Project key tickets are created in." },
                    "issue_type": { "type": "string", "default": "Task" }
                }
            }))
            .secrets_schema(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "chat_token": { "type": "string", "description": "Bot token for the chat API." },
                    "ticket_user": { "type": "string", "description": "Ticketing user (email)." },
                    "ticket_api_token": { "type": "string", "description": "Ticketing API token." }
                }
            }))
            .outbound_host_with("https://slack.com", Credential::bearer_from("chat_token"))
            .outbound_host_with(
                "https://*.atlassian.net",
                Credential::basic_from("ticket_user", "ticket_api_token"),
            )
            .action(
                Action::new("post-message", "Posts a message to a chat channel.").input_schema(json!({
                    "type": "object",
                    "required": ["text"],
                    "additionalProperties": false,
                    "properties": {
                        "channel": { "type": "string", "minLength": 1 },
                        "text": { "type": "string", "minLength": 1, "maxLength": 40000 },
                        "thread_ts": { "type": "string" }
                    }
                })),
            )
            .action(
                Action::new("create-ticket", "Opens a ticket in the configured project.").input_schema(json!({
                    "type": "object",
                    "required": ["summary"],
                    "additionalProperties": false,
                    "properties": {
                        "summary": { "type": "string", "minLength": 1, "maxLength": 255 },
                        "description": { "type": "string" },
                        "priority": { "enum": ["Highest", "High", "Medium", "Low", "Lowest"] },
                        "labels": { "type": "array", "items": { "type": "string", "pattern": "^\\S+$" } }
                    }
                })),
            )
            .sample_output(Output::new(
                OutputStandard::Json,
                "application/json",
                br#"{"channel":"C024BE91L","ts":"1503435956.000247"}"#.to_vec(),
            ))
            .build()
    }

    fn validate_config(&self, config: &Value) -> Result<()> {
        let config: Config = serde_json::from_value(config.clone())
            .map_err(|e| Error::invalid_config(format!("the config does not fit: {e}")))?;
        if config.ticket_base_url.is_some() != config.ticket_project.is_some() {
            return Err(Error::invalid_config(
                "set both `ticket_base_url` and `ticket_project`, or neither",
            ));
        }
        Ok(())
    }

    fn invoke(&self, action: &str, input: Value, ctx: &Context) -> Result<Vec<Output>> {
        let config: Config = ctx.config()?;
        match action {
            "post-message" => Self::post_message(&config, parse_input(input)?),
            "create-ticket" => Self::create_ticket(&config, parse_input(input)?),
            other => Err(Error::unknown_action(other)),
        }
    }
}

airlock_sdk::export_connector!(ChatNotifier);
