"""File resources: CSV, Excel, JSON / JSON Lines and YAML files as records.

The classes live in their own modules (``xresource.files.csv``...) and are exported lazily by
``xresource``, so that importing this package needs neither openpyxl nor PyYAML.
"""
