"""One toolkit for talking to Kubernetes, used by the harness and by the deploy steps in the image.

    constants   labels, the request timeout, the field manager, KFP's namespace and account
    exceptions  typed errors (NotFound, Conflict, Forbidden, …) naming what was attempted
    transient   the one table of errors worth another try, each with its reason
    retry       call(description, action): retries only what the table says is transient
    wait        wait_until(description, condition, timeout=…): the one wait; watch_until on top
    client      an ApiClient from a kubeconfig context or a pod's service account
    objects     Namespace, Pod, Deployment, … with kubectl's verbs (apply, create, read, delete,
                wait, logs), each call bounded in time and retried through retry.call

The official ``kubernetes`` client is underneath; objects come back as its typed models.
"""
