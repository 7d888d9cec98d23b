print("vlpack")
