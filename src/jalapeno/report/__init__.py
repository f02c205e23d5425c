"""Reports: self-contained HTML pages (plotly, its JavaScript embedded) and static PNG plots
(matplotlib) from any result. Needs the `plot` extra; nothing here is imported by the layers
below, and plotly / matplotlib load only when a report is written."""
