//! The startup phase: protocol negotiation, authentication from `[pgwire] users` (SCRAM-SHA-256 or cleartext
//! password; trust when no users are configured), the parameters clients read at connect time, and registering
//! the connection for cancel requests.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::cleartext::CleartextPasswordAuth;
use pgwire::api::auth::driver::AuthOutcome;
use pgwire::api::auth::mechanism::{AuthMechanism, AuthMechanismFactory, AuthState};
use pgwire::api::auth::sasl::scram::{SCRAM_ITERATIONS, ScramAuth, gen_salted_password};
use pgwire::api::auth::{
    AuthDriver, AuthSource, LoginInfo, Password, ServerParameterProvider, StartupHandler, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, METADATA_APPLICATION_NAME, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use super::PgServer;
use super::errors::{CANNOT_CONNECT_NOW, INVALID_PASSWORD, PgError};
use super::session::Connection;
use crate::config::{PgAuthMethod, PgwireConfig};

/// How connections authenticate.
enum Method {
    Trust,
    Password(CleartextPasswordAuth<Users>),
    Scram(ScramAuth),
}

/// The startup handler.
pub struct Startup {
    server: Arc<PgServer>,
    driver: AuthDriver<Parameters>,
    method: Method,
}

impl Startup {
    pub fn new(server: Arc<PgServer>, config: &PgwireConfig) -> Self {
        let method = if config.users.is_empty() {
            Method::Trust
        } else {
            let users = Users::new(config);
            match config.auth_method {
                PgAuthMethod::Password => Method::Password(CleartextPasswordAuth::new(Arc::new(users))),
                PgAuthMethod::ScramSha256 => {
                    let mut scram = ScramAuth::new(Arc::new(users));
                    scram.set_iterations(SCRAM_ITERATIONS);
                    Method::Scram(scram)
                }
            }
        };
        Startup {
            server,
            driver: AuthDriver::new(Parameters),
            method,
        }
    }

    fn mechanism(&self) -> Box<dyn AuthMechanism> {
        match &self.method {
            Method::Trust => Box::new(Trust),
            Method::Password(f) => f.create(),
            Method::Scram(f) => f.create(),
        }
    }

    async fn finish<C>(&self, client: &mut C, final_message: Option<Authentication>) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.driver.complete_authentication(client, final_message).await?;
        let (pid, secret) = client.pid_and_secret_key();
        let (signal, registration) = self.server.cancels.register(pid, &secret);
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        let database = client
            .metadata()
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        let connection = Connection::new(user.clone(), database, pid, signal, Some(registration));
        if let Some(app) = client.metadata().get(METADATA_APPLICATION_NAME) {
            connection.set_parameter("application_name", Some(app.clone()));
        }
        client.session_extensions().insert(connection);
        tracing::debug!(pid, %user, peer = %client.socket_addr(), "Postgres client connected");
        Ok(())
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let outcome = match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if self.server.engine().is_err() {
                    return Err(PgError::new(CANNOT_CONNECT_NOW, "the database system is starting up")
                        .fatal()
                        .into());
                }
                self.driver.begin_authentication(client, self.mechanism()).await?
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                match self.driver.advance_authentication(client, message).await {
                    Ok(outcome) => outcome,
                    Err(PgWireError::InvalidPassword(_)) => {
                        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
                        tracing::info!(%user, peer = %client.socket_addr(), "Postgres password authentication failed");
                        return Err(PgError::new(
                            INVALID_PASSWORD,
                            format!("password authentication failed for user \"{user}\""),
                        )
                        .fatal()
                        .into());
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => return Ok(()),
        };
        match outcome {
            AuthOutcome::InProgress => Ok(()),
            AuthOutcome::Authenticated { final_message, .. } => self.finish(client, final_message).await,
        }
    }
}

/// Lets every client in: used when no users are configured.
struct Trust;

#[async_trait]
impl AuthMechanism for Trust {
    async fn begin(&mut self, _client: &(dyn ClientInfo + Send + Sync)) -> PgWireResult<AuthState> {
        Ok(AuthState::Ok {
            final_message: None,
            identity: None,
        })
    }

    async fn next(
        &mut self,
        _client: &(dyn ClientInfo + Send + Sync),
        _message: PasswordMessageFamily,
    ) -> PgWireResult<AuthState> {
        Err(PgWireError::NoAuthenticationInProgress)
    }
}

/// The configured users, with SCRAM's salted passwords computed once at startup.
#[derive(Debug)]
struct Users {
    users: HashMap<String, User>,
}

struct User {
    password: String,
    salt: Vec<u8>,
    salted: Vec<u8>,
}

impl Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("User { .. }")
    }
}

impl Users {
    fn new(config: &PgwireConfig) -> Self {
        let users = config
            .users
            .iter()
            .map(|u| {
                let mut salt = vec![0u8; 16];
                // A failure leaves a zero salt: still correct SCRAM, only less unique across servers.
                let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
                let salted = match config.auth_method {
                    PgAuthMethod::ScramSha256 => gen_salted_password(&u.password, &salt, SCRAM_ITERATIONS),
                    PgAuthMethod::Password => vec![],
                };
                (
                    u.name.clone(),
                    User {
                        password: u.password.clone(),
                        salt,
                        salted,
                    },
                )
            })
            .collect();
        Users { users }
    }
}

#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        let user = self
            .users
            .get(name)
            .ok_or_else(|| PgWireError::InvalidPassword(name.to_string()))?;
        Ok(if user.salted.is_empty() {
            Password::new(None, user.password.as_bytes().to_vec())
        } else {
            Password::new(Some(user.salt.clone()), user.salted.clone())
        })
    }
}

/// The parameters reported at connect time (see [`crate::serve::settings`]).
pub struct Parameters;

impl ServerParameterProvider for Parameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut params: HashMap<String, String> = [
            "server_version",
            "server_encoding",
            "client_encoding",
            "DateStyle",
            "IntervalStyle",
            "TimeZone",
            "integer_datetimes",
            "standard_conforming_strings",
            "is_superuser",
            "in_hot_standby",
            "default_transaction_read_only",
            "search_path",
        ]
        .iter()
        .filter_map(|n| crate::serve::settings::default_of(n).map(|(n, v)| (n.to_string(), v.to_string())))
        .collect();
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        params.insert("session_authorization".into(), user);
        params.insert(
            "application_name".into(),
            client
                .metadata()
                .get(METADATA_APPLICATION_NAME)
                .cloned()
                .unwrap_or_default(),
        );
        Some(params)
    }
}
