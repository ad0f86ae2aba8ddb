@_exported import CQuikABI
