//! Every Lambda of rekey, declared once: its `Function` variant, its crate
//! (the name in functions/, template.yaml and events/), the operation its
//! `main.rs` calls and the contract that operation belongs to, its routes,
//! and the `rekey` features its crate enables.
//!
//! `Function`, `Function::ALL`, the names, the route table (`ROUTES`) and
//! the dispatch (`Function::handle`, in `contract::dispatch`) are generated
//! from this one table. Everything else that lists functions is checked
//! against it by a test (docs/architecture.md, "Adding a function", names
//! each): the IAM oracle's tables match on `Function` exhaustively; the
//! functions/ crates, their features and `main.rs` calls, template.yaml,
//! the events/ samples, the workspace members, scripts/bench,
//! scripts/lambda-events.py, the fuzz targets and the README are read and
//! compared. A new function is one entry here; the tests then name
//! whatever else is missing.
//!
//! The naming scheme: a function is named by what it does
//! (`reset-account`); its operation is that name in snake case, under the
//! module of the published contract it speaks
//! (`contract::account::reset_account`); the flow it runs is named by the
//! credential it works with (`reset::link_token`).

/// The table, handed to `$callback` (a macro taking the same entries): how
/// `Function` here and the dispatch in `contract` are generated from it.
///
/// Each entry: `Variant { name, operation: path::to::fn(serves), routes,
/// features }`, where `serves` is what the operation takes: the
/// `App` (`app`), the hosted page (`page`), discovery's documents
/// (`discovery`), or a stream batch (`stream`, no route).
macro_rules! function_table {
    ($callback:ident) => {
        $callback! {
            /// Payabli's reset request: a link to the address, asked for
            /// with an API key.
            RequestReset {
                name: "request-reset",
                operation: contract::payabli::request_reset(app),
                routes: [("POST", "/api/User/authreset")],
                features: ["dynamodb", "secrets-manager"],
            },
            /// Unleash: who a link token is for, without consuming it.
            ValidateToken {
                name: "validate-token",
                operation: contract::unleash::validate_token(app),
                routes: [("GET", "/auth/reset/validate")],
                features: ["dynamodb", "cognito", "secrets-manager"],
            },
            /// Unleash: a new password with a link token.
            ResetPassword {
                name: "reset-password",
                operation: contract::unleash::reset_password(app),
                routes: [("POST", "/auth/reset/password")],
                features: ["pwned-passwords", "dynamodb", "cognito", "secrets-manager"],
            },
            /// Unleash: the password policy on a candidate.
            ValidatePassword {
                name: "validate-password",
                operation: contract::unleash::validate_password(app),
                routes: [("POST", "/auth/reset/validate-password")],
                features: ["pwned-passwords", "dynamodb", "secrets-manager"],
            },
            /// Zitadel PasswordReset: a code for a user, returned or mailed.
            RequestUserReset {
                name: "request-user-reset",
                operation: contract::zitadel::request_user_reset(app),
                routes: [
                    ("POST", "/v2/users/{userId}/password_reset"),
                    ("POST", "/zitadel.user.v2.UserService/PasswordReset"),
                ],
                features: ["dynamodb", "cognito", "secrets-manager"],
            },
            /// Zitadel SetPassword: with a code, the current password, or an
            /// admin's key.
            SetPassword {
                name: "set-password",
                operation: contract::zitadel::set_password(app),
                routes: [
                    ("POST", "/v2/users/{userId}/password"),
                    ("POST", "/zitadel.user.v2.UserService/SetPassword"),
                ],
                features: ["pwned-passwords", "dynamodb", "cognito", "secrets-manager"],
            },
            /// django-rest-registration: a signed link to the address.
            SendResetLink {
                name: "send-reset-link",
                operation: contract::django::send_reset_link(app),
                routes: [("POST", "/api/v1/iam/accounts/send-reset-password-link/")],
                features: ["dynamodb", "secrets-manager"],
            },
            /// django-rest-registration: a new password with a signed link.
            ResetPasswordSigned {
                name: "reset-password-signed",
                operation: contract::django::reset_password_signed(app),
                routes: [("POST", "/api/v1/iam/accounts/reset-password/")],
                features: ["pwned-passwords", "dynamodb", "cognito", "secrets-manager"],
            },
            /// "Recover an account": a recovery link to the address.
            RecoverAccount {
                name: "recover-account",
                operation: contract::account::recover_account(app),
                routes: [("POST", "/api/v2/account/recover/")],
                features: ["dynamodb", "secrets-manager"],
            },
            /// Account reset: a new password with the recovery link, and a
            /// log-in.
            ResetAccount {
                name: "reset-account",
                operation: contract::account::reset_account(app),
                routes: [("POST", "/api/v2/account/reset/")],
                features: ["pwned-passwords", "dynamodb", "kms", "cognito", "secrets-manager"],
            },
            /// The hosted reset page (GET /reset, GET /account/reset, its
            /// script and style).
            ResetPage {
                name: "reset-page",
                operation: contract::page::reset_page(page),
                routes: [
                    ("GET", "/reset"),
                    ("GET", "/account/reset"),
                    ("GET", "/reset/app.js"),
                    ("GET", "/reset/app.css"),
                ],
                features: [],
            },
            /// OpenID Connect Discovery and the JWKS (no store, no secret).
            Discovery {
                name: "discovery",
                operation: contract::discovery::discovery(discovery),
                routes: [
                    ("GET", "/.well-known/openid-configuration"),
                    ("GET", "/.well-known/jwks.json"),
                ],
                features: ["kms"],
            },
            /// The OAuth 2.0 token endpoint: password and refresh-token grants.
            OAuthToken {
                name: "oauth-token",
                operation: contract::oauth::oauth_token(app),
                routes: [("POST", "/oauth/token")],
                features: ["dynamodb", "kms", "secrets-manager"],
            },
            /// OAuth 2.0 token revocation (RFC 7009).
            OAuthRevoke {
                name: "oauth-revoke",
                operation: contract::oauth::oauth_revoke(app),
                routes: [("POST", "/oauth/revoke")],
                features: ["dynamodb", "secrets-manager"],
            },
            /// OpenID Connect userinfo: the account an access token speaks for.
            OAuthUserinfo {
                name: "oauth-userinfo",
                operation: contract::oauth::oauth_userinfo(app),
                routes: [("GET", "/oauth/userinfo"), ("POST", "/oauth/userinfo")],
                features: ["dynamodb", "kms", "secrets-manager"],
            },
            /// The table's stream consumer: address requests delivered
            /// through their flow, outbox items sent (mail through SES,
            /// webhooks to their endpoints, texts through SNS, retries
            /// through SQS).
            SendEmail {
                name: "send-email",
                operation: delivery::stream::consume_batch(stream),
                routes: [],
                features: ["dynamodb", "ses", "sns", "sqs", "cognito", "secrets-manager"],
            },
        }
    };
}

pub(crate) use function_table;

/// Generates `Function` and its metadata from the table.
macro_rules! declare_functions {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident {
            name: $name:literal,
            operation: $first:ident $(:: $segment:ident)+ ($serves:ident),
            routes: [$(($method:literal, $path:literal)),* $(,)?],
            features: [$($feature:literal),* $(,)?],
        },
    )+) => {
        /// One Lambda of rekey (each a crate under functions/).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Function {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Function {
            /// Every function, in the table's order.
            pub const ALL: [Function; [$(Function::$variant),+].len()] = [$(Function::$variant),+];

            /// The function's crate under functions/, its name in
            /// template.yaml and its sample in events/.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Function::$variant => $name,)+
                }
            }

            /// The function a crate name names.
            pub fn from_name(name: &str) -> Option<Function> {
                Function::ALL.into_iter().find(|f| f.name() == name)
            }

            /// The operation its `main.rs` calls, as a path under `rekey`,
            /// e.g. "contract::payabli::request_reset".
            pub fn operation(self) -> &'static str {
                match self {
                    $(Function::$variant => concat!(stringify!($first) $(, "::", stringify!($segment))+),)+
                }
            }

            /// The `rekey` features its crate enables.
            pub fn features(self) -> &'static [&'static str] {
                match self {
                    $(Function::$variant => &[$($feature),*],)+
                }
            }
        }

        /// Every (method, path, function), in the table's order.
        pub static ROUTES: &[super::Route] = &[
            $($(super::Route {
                method: $method,
                path: $path,
                function: Function::$variant,
            },)*)+
        ];
    };
}

function_table!(declare_functions);
