"""The MNIST training program: data loading, the Keras models and the SavedModel export."""
