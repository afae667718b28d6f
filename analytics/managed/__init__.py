"""Goals and saved funnels managed by marketers in samtycke, beside the goals of the configuration file.

``tables`` stores them in ClickHouse, ``definitions`` validates what is sent, ``store`` reads
and changes them (recording every change), ``backfill`` states what a new or changed goal
means for past data, ``api`` serves ``/api/v1/sites/{site_id}/goals``
and ``/funnels``.  The statistics read a site's goals through ``store.Definitions.site``.
"""
