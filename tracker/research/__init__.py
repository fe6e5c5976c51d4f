from flask import Blueprint

bp = Blueprint("research", __name__, url_prefix="/research")
