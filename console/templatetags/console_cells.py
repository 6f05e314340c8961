"""The console's cells for templates (the landing page): the same renderers as the list pages'."""

from django import template

from console import display

register = template.Library()

register.simple_tag(display.run_cell, name="run_cell")
register.simple_tag(display.severity_badge, name="severity_badge")
register.simple_tag(display.error_cell, name="error_cell")
register.simple_tag(display.since, name="since")
register.simple_tag(display.overrun_flag, name="overrun_flag")
register.simple_tag(display.lateness, name="lateness")
