"""Moving a committee onto the common service: discovery now, migration later (issue 11).

module_utils/ is not a package (Ansible ships its files to the targets as they are): a
module here that reads the city puts it on sys.path first, as the scripts in tools/ do."""
