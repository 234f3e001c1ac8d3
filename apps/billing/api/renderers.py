"""Usage as CSV: one line per record, the header naming the columns."""

import csv
import io

from rest_framework.renderers import BaseRenderer


class CsvRenderer(BaseRenderer):
    """Columns from the first row, or the view's `csv_columns` when there is none: an empty
    answer still names its columns (and DRF drops the Content-Type of an empty body)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: object, accepted_media_type: str | None = None, renderer_context=None):
        rows = data if isinstance(data, list) else [data]
        view = (renderer_context or {}).get("view")
        columns = list(rows[0]) if rows else list(getattr(view, "csv_columns", ()))
        out = io.StringIO()
        if columns:
            writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return out.getvalue().encode(self.charset)
