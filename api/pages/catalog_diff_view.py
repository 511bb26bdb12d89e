"""TEMP"""
def diff_of(session, old, new):
    return None
def download_links(version):
    return []
