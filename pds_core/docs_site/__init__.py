"""pds docs: a static site of the project's lineage, run history, check history and metric plots.

layout.py lays the lineage graph out; warehouse.py reads the results tables and the catalog
through the adapter; sitedata.py shapes manifest + history into the page's JSON; site.py
writes target/docs/ and serves it. The page itself is static/ (plain JS, SVG, CSS).
"""

from pds_core.docs_site.site import docs_folder, generate, serve

__all__ = ["docs_folder", "generate", "serve"]
