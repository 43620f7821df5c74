"""The Kubeflow pipeline (train → serve → web-ui), its components, compile CLI and deploy steps."""
