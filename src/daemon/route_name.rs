//! A route as the outbox names it.

use std::fmt;

use crate::domain::uscc::Uscc;

/// A route of the config (`[routes.NAME]`), or a company's own contacts,
/// mailed through `routing.contacts_via` and written `contacts:<USCC>` in
/// the outbox (the config refuses route names of that form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteName {
    Configured(String),
    Contacts(Uscc),
}

const CONTACTS_PREFIX: &str = "contacts:";

impl RouteName {
    /// The route an outbox row names. A `contacts:` name whose USCC does
    /// not parse (written by hand) is no company's: it stays a name, and no
    /// route of the config has it.
    pub fn of(name: &str) -> RouteName {
        name.strip_prefix(CONTACTS_PREFIX)
            .and_then(|uscc| uscc.parse().ok())
            .map_or_else(
                || RouteName::Configured(name.to_owned()),
                RouteName::Contacts,
            )
    }
}

impl fmt::Display for RouteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteName::Configured(name) => f.write_str(name),
            RouteName::Contacts(uscc) => write!(f, "{CONTACTS_PREFIX}{uscc}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contacts_route_round_trips_and_anything_else_is_a_configured_name() {
        let uscc: Uscc = "91110108551385082Q".parse().unwrap();
        let contacts = RouteName::Contacts(uscc.clone());
        assert_eq!(contacts.to_string(), "contacts:91110108551385082Q");
        assert_eq!(RouteName::of("contacts:91110108551385082Q"), contacts);
        for name in ["ops-mail", "contacts:not-a-uscc", "contacts"] {
            assert_eq!(RouteName::of(name), RouteName::Configured(name.to_owned()));
            assert_eq!(RouteName::of(name).to_string(), name);
        }
    }
}
