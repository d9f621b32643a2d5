"""Spreadsheets for the people who keep 台账 in Excel: the template (template.py), reading a
filled workbook into reports with every problem named (importing.py, errorcopy.py), filling the
template from reports (filling.py, its inverse), and the office's fixed tables (exporting.py).
Pure functions from bytes to rows, problems and workbook bytes: the command line
(zhaoshang/sheets_cli.py) and a web app call them alike and talk to the gateway themselves."""
