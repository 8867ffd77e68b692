//! Web console accounts: who may do what, and what a name and a password
//! must be. The CLI's `user` commands and the console use these rules.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// What an account may do in the web console. The CLI is not limited by
/// it: a shell on the server already reaches the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads every page; changes nothing.
    Viewer,
    /// Marks obligations done, snoozes them, edits the register.
    Editor,
    /// An editor who may also import a sheet.
    Admin,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// Marks done, snoozes, adds and edits.
    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }

    /// Imports a sheet: many rows at once.
    pub fn can_import(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = AccountError;

    fn from_str(text: &str) -> Result<Role, AccountError> {
        match text.trim() {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(AccountError::Role(other.to_owned())),
        }
    }
}

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest: hashing is costly, and a megabyte "password" is an attack.
pub const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    #[error("role \"{0}\": unknown (accepted: viewer, editor, admin)")]
    Role(String),
    #[error(
        "account name \"{0}\": not a name (1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '-' or '@'; no spaces)"
    )]
    Name(String),
    #[error("password: {chars} characters; at least {MIN_PASSWORD_CHARS} are needed")]
    PasswordShort { chars: usize },
    #[error("password: longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordLong,
}

/// A name people type at the login form and read in the history.
pub fn check_name(name: &str) -> Result<&str, AccountError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(name)
    } else {
        Err(AccountError::Name(name.to_owned()))
    }
}

pub fn check_password(password: &str) -> Result<&str, AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::PasswordLong);
    }
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordShort { chars });
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_in_order() {
        assert!(!Role::Viewer.can_write());
        assert!(Role::Editor.can_write() && !Role::Editor.can_import());
        assert!(Role::Admin.can_write() && Role::Admin.can_import());
        assert_eq!("editor".parse::<Role>(), Ok(Role::Editor));
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "role \"root\": unknown (accepted: viewer, editor, admin)"
        );
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_name("li.wei@agency").is_ok());
        assert!(check_name("张伟").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("<script>").is_err());
        assert_eq!(
            check_password("short").unwrap_err().to_string(),
            "password: 5 characters; at least 10 are needed"
        );
        assert!(check_password("long enough here").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
    }
}
