from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.models.base import Base, utcnow
from tracker.models.enums import Role, str_enum
from tracker.models.federation import Federation


class User(UserMixin, Base):
    """An account. Emails are stored lower-cased, which makes the unique index case-insensitive."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Changing it (password change) invalidates every session: it is part of the login cookie id.
    session_nonce: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The interface language the user chose (tracker.i18n.LANGUAGES); None follows the browser.
    language: Mapped[str | None] = mapped_column(String(8))
    # Set for an account an admin created with an initial password: the user sets their own first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    federation: Mapped[Federation | None] = relationship()

    @staticmethod
    def normalise_email(email: str) -> str:
        return email.strip().lower()

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role == Role.STAFF

    @property
    def is_researcher(self) -> bool:
        return self.role == Role.RESEARCHER

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
