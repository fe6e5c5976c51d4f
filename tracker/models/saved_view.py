from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base, utcnow


class SavedView(Base):
    """A filter selection of the case list that a user saved under a name (theirs only).

    `query` is the list's query string as it was saved; it is user input and is checked again
    every time the view is opened (services.casework.saved_views).
    """

    __tablename__ = "saved_views"
    # The unique constraint's index also serves "this user's views".
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<SavedView {self.name!r} of user {self.user_id}>"
