"""dbt packages: packages.yml / dependencies.yml read (spec), resolved and installed by `pds deps` (install,
hub, git), and written down in package-lock.yml as `dbt deps` writes it. The installed packages are loaded
by loader.load_packages like the root project."""
