"""Flask extensions, created unbound; create_app() calls init_app on each."""

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from tracker.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
# Storage from RATELIMIT_STORAGE_URI (memory:// by default: per process; use redis:// behind
# several workers). Only the login form is limited.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
