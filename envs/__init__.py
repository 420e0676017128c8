"""Gymnasium environments and wrappers (``htmagent.envs``); importing this package registers the environment ids."""
